"""``ba-eval benchmark`` (phase 8.1): pick a base model by measurement.

Each candidate runs ``ba-eval generate`` (greedy, one run) in a child process, so its
peak memory is its own: ``peak_rss_mb`` is the child's maximum resident set size
(``os.wait4`` rusage ``ru_maxrss``), covering interpreter start, model load and
generation. Ollama models run in the Ollama server, not in the child, so their
``peak_rss_mb`` is null. ``elapsed_s`` is the child's wall time (start, load and
generation); ``completion_tokens_per_s`` divides completion tokens by generation time
only (load excluded).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ba_io import DataError, UsageError, read_json, read_jsonl
from ba_llm.backends import BATCH_SIZE

from . import stats
from .datasets import CURATED, load_concepts, resolve_dataset
from .scoring import (
    component_pass_rates,
    defect_rates,
    mean_grounding,
    runaway_rate,
    score_row,
    yaml_valid_rate,
)

__all__ = ["DEFAULT_THRESHOLD", "run_benchmark", "select", "slug"]

DEFAULT_THRESHOLD = 0.65


def slug(spec: str) -> str:
    """A file-name-safe form of a model spec (``hf:a/b+lora:c`` -> ``hf-a-b-lora-c``)."""
    out = "".join(ch if ch.isalnum() or ch in "._" else "-" for ch in spec).strip("-")
    while "--" in out:
        out = out.replace("--", "-")
    return out or "model"


def prediction_names(models: Sequence[str]) -> dict[str, str]:
    """The file-name stem of each model's predictions: its :func:`slug`, and where two specs
    share one (``hf:m-x`` and ``hf:m/x``) each of those with a hash of its spec added, so no
    model's predictions replace another's (campaign 18)."""
    slugs = {m: slug(m) for m in models}
    shared = {s for s in slugs.values() if list(slugs.values()).count(s) > 1}
    return {m: f"{s}-{hashlib.sha256(m.encode()).hexdigest()[:8]}" if s in shared else s for m, s in slugs.items()}


def select(models: Sequence[dict], threshold: float) -> tuple[str | None, str]:
    """The best mean score among candidates at or above ``threshold``, and why, in words."""
    if not models:
        return None, "No candidate was benchmarked."
    passing = [m for m in models if m["mean_score"] >= threshold]
    best = max(models, key=lambda m: m["mean_score"])
    if not passing:
        return None, (f"No candidate reached {threshold:g}; the best was {best['model']} at {best['mean_score']:.3f}.")
    chosen = max(passing, key=lambda m: m["mean_score"])  # max keeps the first on ties
    others = [f"{m['model']} {m['mean_score']:.3f}" for m in models if m is not chosen]
    tail = f" Others: {', '.join(others)}." if others else ""
    return chosen["model"], (
        f"Selected {chosen['model']}: mean score {chosen['mean_score']:.3f} >= {threshold:g}, "
        f"the best of {len(passing)} candidate(s) at or above the threshold.{tail}"
    )


def _run_child(cmd: list[str]) -> tuple[int, float, float | None]:
    """Run ``cmd``; return (exit code, wall seconds, peak RSS in MB of that child). The child
    never outlives the benchmark (campaign 43: a `kill PID` of the benchmark, or a kill -9,
    left its generate child running, holding the lock and writing the predictions): a
    SIGTERM here ends the child first, and the child gets SIGTERM when its parent dies."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, preexec_fn=_die_with_parent())
    try:
        with _sigterm_raises():
            _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    kib = usage.ru_maxrss / 1024 if sys.platform == "darwin" else usage.ru_maxrss  # darwin: bytes
    return proc.returncode, elapsed, kib / 1024


def _die_with_parent() -> Callable[[], None] | None:
    """What the child runs before its program: SIGTERM when the parent process dies (Linux
    prctl PR_SET_PDEATHSIG), looked up here in the parent, so the child between fork and
    exec imports nothing; None where there is no prctl."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def set_death_signal() -> None:
        prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG

    return set_death_signal


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the block runs (in the main thread), SIGTERM raises SystemExit(143), so the
    caller's clean-up runs, as it does for Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    earlier = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, earlier)


def _summarise(
    spec: str, rows: list[dict], timings: dict, elapsed: float, peak_mb: float | None, threshold: float, seed: int
) -> dict:
    scored = [score_row(r) for r in rows]
    scores = np.array([r["score"] for r in scored])
    low, high = stats.bootstrap_ci(scores, seed=seed)
    contents = np.array([r["content"] for r in scored])
    c_low, c_high = stats.bootstrap_ci(contents, seed=seed)
    mean = float(scores.mean())
    return {
        "model": spec,
        "n": len(scored),
        "mean_score": mean,
        "std_score": stats.sample_std(scores),
        "ci95": [low, high],
        "content_mean": float(contents.mean()),
        "content_std": stats.sample_std(contents),
        "content_ci95": [c_low, c_high],
        "runaway_rate": runaway_rate(scored),
        "defect_rates": defect_rates(scored),
        "yaml_valid_rate": yaml_valid_rate(scored),
        "component_pass_rates": component_pass_rates(scored),
        "mean_grounding": mean_grounding(scored),
        "elapsed_s": round(elapsed, 3),
        "load_s": timings.get("load_s"),
        "generate_s": timings.get("generate_s"),
        "completion_tokens": timings.get("completion_tokens"),
        "completion_tokens_per_s": timings.get("completion_tokens_per_s") or 0.0,
        "peak_rss_mb": None if spec.startswith("ollama:") or peak_mb is None else round(peak_mb, 1),
        "passes_threshold": mean >= threshold,
    }


def run_benchmark(
    models: Sequence[str],
    dataset: str,
    output: str | os.PathLike[str],
    *,
    limit: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    prompt: str | None = None,
    max_new_tokens: int = 768,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
) -> dict:
    """Benchmark each model spec on ``dataset``; return the benchmark-report object.

    Predictions go to ``<output stem>.predictions/<model slug>.jsonl`` (regenerated every
    time, so timings are never those of a resumed run).

    Raises:
        UsageError: no models, repeated models, a child that failed on its arguments.
        DataError: a bad dataset, or a child that failed on its data / model.
    """
    out = Path(output)
    pred_dir = out.with_name(out.stem + ".predictions")
    _check_benchmark_args(models, dataset, limit, out, pred_dir, prompt)
    results = []
    names = prediction_names(models)
    for spec in models:
        preds = pred_dir / f"{names[spec]}.jsonl"
        timings_path = pred_dir / f"{names[spec]}.timings.json"
        cmd = [
            sys.executable, "-m", "ba_eval", "generate", "--model", spec, "--in", str(dataset), "-o", str(preds),
            "--runs", "1", "--decoding", "greedy", "--overwrite", "--max-new-tokens", str(max_new_tokens),
            "--batch-size", str(batch_size), "--timings", str(timings_path),
        ]  # fmt: skip
        if limit is not None:
            cmd += ["--limit", str(limit)]
        if prompt is not None:
            cmd += ["--prompt", str(prompt)]
        rc, elapsed, peak_mb = _run_child(cmd)
        if rc in (1, 2):  # the child printed the one Error: line; this one is its context (campaign 15)
            err: UsageError | DataError = (
                UsageError(f"(benchmark: generating with {spec} failed, exit 2; no report written)")
                if rc == 2
                else DataError(
                    out, None, f"(generating with {spec} failed, exit 1; not written)"
                )  # campaign 16: not preds
            )
            err.reported = True
            raise err
        if rc != 0:
            raise DataError(preds, None, f"generating with {spec} failed (exit {rc}, see the error above)")
        results.append(
            _summarise(
                spec, read_jsonl(preds, "prediction"), read_json(timings_path), elapsed, peak_mb, threshold, seed
            )
        )
    selected, decision = select(results, threshold)
    return {
        "dataset": CURATED if os.fspath(dataset) == CURATED else os.fspath(dataset),
        "threshold": threshold,
        "models": results,
        "selected": selected,
        "decision": decision,
        "method": _method(max_new_tokens, batch_size, seed),
    }


def _check_benchmark_args(
    models: Sequence[str], dataset: str, limit: int | None, out: Path, pred_dir: Path, prompt: str | None = None
) -> None:
    """Every model spec, the dataset and every output, checked before the first model starts
    (a file of the user's at the predictions folder was refused only after generating)."""
    if not models:
        raise UsageError("give at least one --model SPEC")
    dup = sorted({m for m in models if list(models).count(m) > 1})
    if dup:
        raise UsageError(f"--model repeated: {', '.join(dup)}")
    import ba_llm
    from ba_io import (
        check_side_folder,
        check_side_output,
        distinct_paths,
        first_line_is,
        json_object_with,
        jsonl_rows_with,
        output_target,
    )

    from .report import BENCHMARK_MD_HEADING, names_output

    for m in models:
        ba_llm.parse_spec(m)
    load_concepts(dataset, limit)  # fail on a bad dataset before starting any model
    distinct_paths(  # campaign 5: `-o` (or its .md) naming the dataset replaced it by the report
        ("--dataset", resolve_dataset(dataset)),  # campaign 22: the packaged curated set too
        ("--prompt", prompt),  # campaign 12: the report replaced the prompt it was run with
        ("-o", out),
        ("the report's Markdown", out.with_suffix(".md")),
        ("the predictions folder", pred_dir),  # campaign 18: -o rep.predictions was refused only after generating
    )
    output_target(out)
    output_target(out.with_suffix(".md"))
    output_target(pred_dir, directory=True)
    for m in models:  # campaign 13: a report (or its .md) linked into a candidate's files replaced them
        for flag, path in (("-o", out), ("the report's Markdown", out.with_suffix(".md")), ("predictions", pred_dir)):
            ba_llm.check_not_a_model_file(m, path, flag)
    # campaign 15: a notes file of the user's at REPORT.md was replaced by the report's Markdown
    # campaign 32: `-o R.json` and `-o R` share R.md: each names its report (report.tag_output)
    md_ours = names_output(first_line_is(BENCHMARK_MD_HEADING), out)
    check_side_output(out.with_suffix(".md"), f"the Markdown of {out.name}", md_ours)
    # campaign 17: a link at REPORT.predictions/MODEL.jsonl was written through
    check_side_folder(pred_dir, "the predictions of every model")
    for name in prediction_names(models).values():
        check_side_output(
            pred_dir / f"{name}.jsonl", "a benchmark's predictions", jsonl_rows_with("id", "model", "text", empty=True)
        )
        check_side_output(
            pred_dir / f"{name}.timings.json", "a benchmark's timings", json_object_with("out", "model", "generated")
        )


def _method(max_new_tokens: int, batch_size: int, seed: int) -> dict[str, str]:
    """How every figure of the benchmark report is computed, in words (its ``method``)."""
    return {
        "decoding": f"greedy, one run, max_new_tokens={max_new_tokens}, batch_size={batch_size}",
        "score": "ba_metric.score(text, concept).total per example; std is the sample SD (ddof=1)",
        "content": "ba_metric.score(text, concept).content per example (same CI and SD conventions); "
        "reported beside the total, selection stays on the total",
        "runaway_rate": "share of outputs that did not end the document themselves: stopped at max_new_tokens "
        "(finish_reason 'length') or cut as a repeated-line loop ('loop', ba_llm.stopping)",
        "ci95": f"percentile bootstrap of the mean score, 10000 resamples, seed {seed}",
        "yaml_valid_rate": "share of outputs ba_metric could parse into a document",
        "component_pass_rates": "share of outputs with full points on each rubric component",
        "elapsed_s": "wall time of the candidate's generate process: interpreter start, model load, generation",
        "completion_tokens_per_s": "completion tokens / generation seconds (model load excluded)",
        "peak_rss_mb": "maximum RSS of the candidate's own generate process (os.wait4 ru_maxrss); "
        "null for ollama: the model lives in the Ollama server",
        "selection": "the best mean score among candidates whose mean is at or above the threshold",
    }
