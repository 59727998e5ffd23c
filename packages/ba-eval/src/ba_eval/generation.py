"""``ba-eval generate``: independent, resumable prediction runs through ba-llm.

Each (example, run) pair becomes one prediction row, appended to the output as soon as
its batch finishes, so an interrupted job resumes where it stopped.

Decoding: ``auto`` (the default) is greedy for one run and sampling for several.
Sampled runs are independent: run ``r`` uses the run seed ``seed + r`` (the row's
``seed``) and each batch seeds the backend with ``(seed + r) * 100_000 + offset``
(``decoding.batch_seed``; offset = the batch's first position in the concept list).
Greedy decoding is deterministic, so ``--runs 3`` with greedy writes one run and says
why in every row's ``decoding.note``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ba_io import (
    DataError,
    JsonlAppender,
    UsageError,
    distinct_paths,
    iter_jsonl_lines,
    output_lock,
    output_target,
    progress,
    validate,
    write_json,
)
from ba_llm.backends import BATCH_SIZE
from ba_llm.models import canonical_spec

from .datasets import load_concepts, resolve_dataset

__all__ = ["DecodingPlan", "GenerateSummary", "plan_decoding", "run_generate", "read_existing", "write_timings"]

DECODING_MODES = ("auto", "greedy", "sample")
_BATCH_SEED_STRIDE = 100_000


@dataclass(frozen=True)
class DecodingPlan:
    """Which runs to generate and how.

    Attributes:
        greedy: greedy decoding (else sampling).
        runs: the run indices to generate.
        requested_runs: what ``--runs`` asked for.
        note: why fewer runs than requested are generated (None otherwise).
    """

    greedy: bool
    runs: tuple[int, ...]
    requested_runs: int
    note: str | None = None

    @property
    def mode(self) -> str:
        return "greedy" if self.greedy else "sample"


def plan_decoding(runs: int, decoding: str = "auto") -> DecodingPlan:
    """Resolve ``--runs`` and ``--decoding`` into a :class:`DecodingPlan`.

    Raises:
        UsageError: ``runs < 1`` or an unknown decoding mode.
    """
    if runs < 1:
        raise UsageError(f"--runs must be >= 1, got {runs}")
    if decoding not in DECODING_MODES:
        raise UsageError(f"--decoding must be one of {', '.join(DECODING_MODES)}, got {decoding!r}")
    greedy = decoding == "greedy" or (decoding == "auto" and runs == 1)
    if greedy and runs > 1:
        note = (
            f"greedy decoding is deterministic: the {runs} requested runs would be identical, "
            "so one run was generated (use --decoding sample for independent runs)"
        )
        return DecodingPlan(greedy=True, runs=(0,), requested_runs=runs, note=note)
    return DecodingPlan(greedy=greedy, runs=tuple(range(runs)), requested_runs=runs)


@dataclass
class GenerateSummary:
    """What a generate call did; ``to_dict`` is the ``--timings`` JSON."""

    out: str
    model: str
    generated: int = 0
    skipped: int = 0
    load_s: float = 0.0
    generate_s: float = 0.0
    completion_tokens: int = 0
    prompt_tokens: int = 0
    runs: list[int] = field(default_factory=list)
    note: str | None = None

    @property
    def completion_tokens_per_s(self) -> float | None:
        return self.completion_tokens / self.generate_s if self.generate_s > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": self.out,
            "model": self.model,
            "generated": self.generated,
            "skipped": self.skipped,
            "load_s": round(self.load_s, 4),
            "generate_s": round(self.generate_s, 4),
            "completion_tokens": self.completion_tokens,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens_per_s": self.completion_tokens_per_s,
            "runs": self.runs,
            "note": self.note,
        }


def read_existing(path: Path) -> list[dict]:
    """Rows already in a resumable output; a torn last line (killed mid-write) is cut off.

    ``JsonlAppender.append`` writes a row and its newline in one write, so only a last line
    without a newline can be torn. It is cut only after every whole line has proved to be a
    prediction row and when it is the start of one (``{"id":...``): a file that is not a
    predictions file is refused with its bytes unchanged.

    Raises:
        DataError: ``path:line: ...`` for any other bad row.
    """
    rows, torn_at = _whole_rows(path)
    _cut(path, torn_at)
    return rows


def _whole_rows(path: Path) -> tuple[list[dict], int | None]:
    """The prediction rows of ``path`` and where its torn last line starts (None: none),
    every whole line checked; nothing is changed."""
    if not path.exists():
        return [], None
    data = path.read_bytes()
    cut = data.rfind(b"\n") + 1 if data and not data.endswith(b"\n") else len(data)
    torn = False
    if cut < len(data):
        try:
            json.loads(data[cut:].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            torn = True
    tail_line = data.count(b"\n") + 1
    rows: list[dict] = []
    for line in iter_jsonl_lines(path):  # every whole line a prediction row, before anything is cut
        if torn and line.number == tail_line:
            continue
        issues = [] if line.error else validate(line.row, "prediction")
        problem = line.error or (str(issues[0]) if issues else None)
        if problem is not None:
            raise DataError(path, line.number, f"{problem} (not a prediction row; nothing was changed)")
        assert line.row is not None  # no error: a JSON object
        rows.append(line.row)
    if not torn:
        return rows, None
    tail = data[cut:]
    if tail[: len(_ROW_START)] != _ROW_START[: len(tail[: len(_ROW_START)])]:
        raise DataError(
            path,
            tail_line,
            "an unfinished last line that is not a prediction row (a file of yours?); nothing was changed",
        )
    return rows, cut


def _cut(path: Path, torn_at: int | None) -> None:
    if torn_at is not None:
        with open(path, "r+b") as f:
            f.truncate(torn_at)


#: how every prediction row JsonlAppender writes begins (compact form, id first)
_ROW_START = b'{"id":'


def _setup(row: dict, resolve: Callable[[str], str] = canonical_spec) -> tuple:
    """What must not change when a run file is resumed (``resolve``: a per-check cache of
    :func:`canonical_spec`, as every row of a file names one model)."""
    dec = row.get("decoding") or {}
    return (
        resolve(row["model"]),  # hf:DIR/ and hf:DIR are one model (campaign 24)
        row.get("model_files"),
        row.get("prompt_sha256"),
        dec.get("mode"),
        dec.get("max_new_tokens"),
        dec.get("temperature"),
        dec.get("top_p"),
    )


def _check_compatible(path: Path, rows: list[dict], expected: dict, run_seeds: dict[int, int | None]) -> None:
    resolve = functools.cache(canonical_spec)  # per check: a link retargeted between runs is seen
    want = _setup(expected, resolve)
    for n, row in enumerate(rows, start=1):
        got = _setup(row, resolve)
        seed_ok = row["run"] not in run_seeds or row.get("seed") == run_seeds[row["run"]]
        if got[0] == want[0] and got[1] != want[1] and got[2:] == want[2:] and seed_ok:
            raise UsageError(
                f"{path} holds predictions of other files of model {row['model']} (line {n}: the model or "
                "its adapter was retrained, re-merged or replaced since); nothing was changed: use --overwrite "
                "or another -o"
            )
        if got != want or not seed_ok:
            raise UsageError(
                f"{path} holds predictions of another setup (line {n}: model {row['model']}, "
                f"decoding {got[3]}, max_new_tokens {got[4]}, seed {row.get('seed')}, prompt sha "
                f"{str(got[2])[:12]}); use another -o or delete it"
            )


def run_generate(
    model: str,
    in_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    prompt_path: str | os.PathLike[str] | None = None,
    runs: int = 1,
    decoding: str = "auto",
    temperature: float = 0.7,
    top_p: float = 0.95,
    seed: int = 0,
    max_new_tokens: int = 768,
    batch_size: int = BATCH_SIZE,
    limit: int | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
    backend_options: dict[str, Any] | None = None,
) -> GenerateSummary:
    """Generate ``runs`` prediction runs of ``model`` over the concepts in ``in_path``.

    Args:
        model: a ba-llm model spec.
        in_path: concept or example JSONL (rows with ``id`` and ``concept``), or ``"curated"``.
        out_path: prediction JSONL; existing (id, run) pairs are skipped (resume).
        prompt_path: prompt file (None: the model's own: a LoRA adapter's training prompt, else ba-llm's default).
        runs, decoding, temperature, top_p, seed: see :func:`plan_decoding` and the module doc.
        max_new_tokens, batch_size: passed to ba-llm.
        limit: only the first ``limit`` concepts.
        overwrite: start afresh instead of resuming.
        show_progress: draw a progress bar.
        backend_options: extra ``ba_llm.load_backend`` options (e.g. ``dtype``).

    Returns:
        A :class:`GenerateSummary`.

    Raises:
        UsageError: bad arguments, an output written by another model/prompt/decoding,
            a model that cannot be loaded.
        DataError: a bad input row or a corrupt existing output.
    """
    import ba_llm

    if batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {batch_size}")
    plan = plan_decoding(runs, decoding)
    concepts = load_concepts(in_path, limit)
    out = output_target(out_path)  # appended to: a folder, FIFO or device there is refused before any work
    ba_llm.parse_spec(model)  # a malformed spec fails before any file is touched
    ba_llm.check_max_new_tokens(model, max_new_tokens)  # and a limit beyond the context before the weights load
    prompt = ba_llm.prompt_for_model(model, prompt_path)
    distinct_paths(("--in", resolve_dataset(in_path)), ("--prompt", prompt_path), ("-o", out))
    ba_llm.check_not_a_model_file(model, out, "-o")
    if out.exists() and out.stat().st_nlink > 1:  # appended to: the rows would reach its other names too
        raise UsageError(
            f"-o {out_path}: the file has other names (hard links), which its rows would be appended to "
            "as well (and two runs on two names would not share a lock); nothing was written: give a file of its own"
        )
    with output_lock(out):  # a second run on OUT fails at once instead of appending to it too
        return _generate_locked(
            model,
            concepts,
            prompt,
            plan,
            out,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            overwrite=overwrite,
            show_progress=show_progress,
            backend_options=backend_options,
        )


def _check_same_concepts(path: Path, rows: list[dict], concepts: list[dict[str, Any]]) -> None:
    """A row of the output whose id is one of this run's concepts must have been generated
    for that concept's text (campaign 19: every `ba-datagen concepts` file numbers its rows
    c0001, ...: new concepts sent to an old output were skipped as already done, exit 0)."""
    texts = {c["id"]: c["concept"] for c in concepts}
    for n, row in enumerate(rows, start=1):
        if row["id"] in texts and row.get("concept") != texts[row["id"]]:
            raise UsageError(
                f"{path} holds predictions for other concepts (line {n}: id {row['id']} has another concept "
                "text than --in's); nothing was changed: use another -o, or --overwrite"
            )


def _check_unique(path: Path, rows: list[dict]) -> None:
    """One row per (id, run) (campaign 25: an output holding a prediction twice, `cat a b >
    out`, was resumed with exit 0, and `ba-eval compare` then refused it)."""
    first: dict[tuple, int] = {}
    for n, row in enumerate(rows, start=1):
        pair = (row["id"], row["run"])
        if pair in first:
            raise DataError(
                path,
                n,
                f"duplicate prediction for id {row['id']!r} run {row['run']} (first on line {first[pair]}); "
                "nothing was changed: remove one of them, or use --overwrite",
            )
        first[pair] = n


def _done_pairs(
    out: Path,
    overwrite: bool,
    expected: dict,
    run_seeds: dict[int, int | None],
    heads: list[bytes],
    concepts: list[dict[str, Any]],
) -> set[tuple]:
    """The (id, run) pairs already in ``out`` to skip. The existing output must be a
    predictions file of this setup, and a torn last line the start of one of its rows
    (``heads``: how this run's rows begin); with ``--overwrite`` it must still be a
    predictions file, none is skipped, and the file stays until the model has loaded (a
    model that fails to load leaves it as it was)."""
    existing, torn_at = _whole_rows(out)
    if overwrite:
        return set()
    _check_compatible(out, existing, expected, run_seeds)  # another setup's file: refused uncut
    _check_same_concepts(out, existing, concepts)
    _check_unique(out, existing)
    if torn_at is not None:
        tail = out.read_bytes()[torn_at:]
        if not any(tail[: len(h)] == h[: len(tail)] for h in heads):
            raise DataError(
                out,
                out.read_bytes().count(b"\n") + 1,
                "an unfinished last line that is not a row of this run (a file of yours?); nothing was changed",
            )
    _cut(out, torn_at)
    return {(r["id"], r["run"]) for r in existing}


def _row_heads(concepts: list[dict[str, Any]], model: str, prompt: Any) -> list[bytes]:
    """How each prediction row of this run begins as JsonlAppender writes it (compact, in
    ba_llm's key order: id, concept, model, prompt, prompt_sha256, run)."""
    return [
        json.dumps(
            {"id": c["id"], "concept": c["concept"], "model": model, "prompt": prompt.name,
             "prompt_sha256": prompt.sha256, "run": 0},
            ensure_ascii=False, separators=(",", ":"),
        )[: -len("0}")].encode()
        for c in concepts
    ]  # fmt: skip


def _generate_locked(
    model: str,
    concepts: list[dict[str, Any]],
    prompt: Any,
    plan: Any,
    out: Path,
    *,
    temperature: float,
    top_p: float,
    seed: int,
    max_new_tokens: int,
    batch_size: int,
    overwrite: bool,
    show_progress: bool,
    backend_options: dict[str, Any] | None,
) -> GenerateSummary:
    import ba_llm

    run_seeds = {run: None if plan.greedy else seed + run for run in plan.runs}
    probe = ba_llm.Decoding(max_new_tokens=max_new_tokens, greedy=plan.greedy, temperature=temperature, top_p=top_p)
    files = ba_llm.model_files_fingerprint(model)  # written into each row: what resume compares (_setup)
    if not overwrite:
        model = _spelling_in(out, model)
    expected = {"model": model, "model_files": files, "prompt_sha256": prompt.sha256, "decoding": probe.to_dict()}
    heads = _row_heads(concepts, model, prompt)
    done = _done_pairs(out, overwrite, expected, run_seeds, heads, concepts)
    summary = GenerateSummary(out=os.fspath(out), model=model, runs=list(plan.runs), note=plan.note)
    pending = {run: [(i, c) for i, c in enumerate(concepts) if (c["id"], run) not in done] for run in plan.runs}
    total = sum(len(v) for v in pending.values())
    summary.skipped = len(concepts) * len(plan.runs) - total
    if total == 0:
        return summary
    # opened before the model loads, and the file checked is the one kept
    output = _Output(out, overwrite, done, lambda: _done_pairs(out, overwrite, expected, run_seeds, heads, concepts))
    backend = output.load(model, backend_options, summary)
    bar = progress(total=total, desc=f"generate {model}", unit="pred") if show_progress else None
    probe_args = {"max_new_tokens": max_new_tokens, "greedy": plan.greedy, "temperature": temperature, "top_p": top_p}
    try:
        for run in plan.runs:
            todo = pending[run]
            for start in range(0, len(todo), batch_size):
                chunk = todo[start : start + batch_size]
                t1 = time.perf_counter()
                rows = _generate_batch(
                    backend, model, prompt, chunk, run, run_seeds[run], plan.note, probe_args, batch_size
                )
                summary.generate_s += time.perf_counter() - t1
                output.append(rows, files, summary)
                if bar is not None:
                    bar.update(len(rows))
        output.finish()
    finally:
        if bar is not None:
            bar.close()
        backend.close()
        output.close()
    return summary


#: what a user does when generate's output changed under it
_REMEDY = "run again to resume from what it holds (or --overwrite to start it afresh)"


class _Output:
    """generate's ``-o``, opened once before the model loads; every batch is appended only
    while it is still the file this run checked plus its own rows (campaign 28: another
    command's output renamed or written over it mid-run left rows missing, exit 0). Under
    ``--overwrite`` the earlier file stays until the first batch is ready (campaign 18),
    and is removed then only if it is still, byte for byte, the predictions file checked
    at the start (campaign 28: a file of the user's put there while the model loaded was
    deleted)."""

    def __init__(self, out: Path, overwrite: bool, done: set[tuple], done_now: Callable[[], set[tuple]]) -> None:
        """Open ``out``; ``done_now()`` reads it again, and must find what ``done`` says
        (the resume was decided from the bytes this file holds)."""
        self.made = not os.path.lexists(out)
        self.file = JsonlAppender(out, "prediction", remedy=_REMEDY)
        self.replace_earlier = overwrite and self.file.size > 0
        try:
            if done_now() != done:
                raise DataError(out, None, f"changed while this run read it: {_REMEDY}")
        except BaseException:
            self.close()
            raise

    def load(self, model: str, backend_options: dict[str, Any] | None, summary: GenerateSummary) -> Any:
        """The model's backend, its load time in ``summary``; a failure closes the output."""
        import ba_llm

        t0 = time.perf_counter()
        try:
            backend = ba_llm.load_backend(model, **(backend_options or {}))
        except BaseException:
            self.close()
            raise
        summary.load_s = time.perf_counter() - t0
        return backend

    def append(self, rows: list[dict[str, Any]], files: str | None, summary: GenerateSummary) -> None:
        if self.replace_earlier:
            earlier = self.file
            earlier.check_unchanged()
            earlier.path.unlink()
            earlier.close()
            self.file = JsonlAppender(earlier.path, "prediction", fresh=True, remedy=_REMEDY)
            self.replace_earlier = False
        self.file.check_unchanged(full=False)
        _append_rows(self.file, rows, files, summary)

    def finish(self) -> None:
        self.file.check_unchanged()

    def close(self) -> None:
        """Close it; a file this run made and wrote nothing to (a model that failed to
        load) is removed, still only if it is that empty file."""
        if self.made and self.file.written == 0 and self.file.size == 0:
            with contextlib.suppress(OSError, DataError):
                self.file.check_unchanged(full=False)
                self.file.path.unlink()
        self.file.close()


def _spelling_in(out: Path, model: str) -> str:
    """The spelling of ``model`` the rows of ``out`` use, when they name it another way
    (``hf:DIR/`` for ``hf:DIR``): a resumed file keeps one model name, which compare and
    parity read as one model (campaign 24)."""
    if not out.is_file():  # nothing yet, or not a file (a FIFO would block): the checks say so
        return model
    try:
        with open(out, "rb") as f:
            first = json.loads(f.readline())
    except (OSError, ValueError):
        return model
    written = first.get("model") if isinstance(first, dict) else None
    if isinstance(written, str) and written != model and canonical_spec(written) == canonical_spec(model):
        return written
    return model


def _append_rows(out: JsonlAppender, rows: list[dict[str, Any]], files: str | None, summary: GenerateSummary) -> None:
    """Append one batch's rows, each with the model files' fingerprint, and count them."""
    for row in rows:
        row["model_files"] = files
        out.append(row)
        summary.generated += 1
        summary.completion_tokens += row["completion_tokens"]
        summary.prompt_tokens += row["prompt_tokens"]


def _generate_batch(
    backend: Any,
    model: str,
    prompt: Any,
    chunk: list[tuple[int, dict[str, Any]]],
    run: int,
    run_seed: int | None,
    note: str | None,
    decoding: dict[str, Any],
    batch_size: int,
) -> list[dict[str, Any]]:
    """One batch of one run: the prediction rows of ``chunk`` (``(index, concept)`` pairs).
    A sampled run's batch seed is a function of the run seed and the batch's first index, so
    a resumed run draws what an uninterrupted one would have."""
    import ba_llm

    batch_seed = None if run_seed is None else run_seed * _BATCH_SEED_STRIDE + chunk[0][0]
    dec = ba_llm.Decoding(**decoding, seed=batch_seed)
    rows = ba_llm.generate_with(
        backend, [c for _, c in chunk], prompt, dec, batch_size=batch_size, run=run, progress=False, model=model
    )
    for row in rows:
        row["seed"] = run_seed
        if batch_seed is not None:
            row["decoding"]["batch_seed"] = batch_seed
        if note:
            row["decoding"]["note"] = note
    return rows


def write_timings(path: str | os.PathLike[str], summary: GenerateSummary) -> None:
    """Write the summary as JSON (what ``ba-eval benchmark`` reads from its child runs)."""
    write_json(path, summary.to_dict())
