"""``synth``: concepts in, one teacher document per concept out (dataset v1 rows).

Every input concept ends in exactly one of the output file or the rejects file. Rows are
appended (``ba_io.append_jsonl``) to ``OUT.partial`` as each batch finishes; when every
concept is done the partial file is renamed to ``OUT``, so ``OUT`` only ever exists whole
(a Make target is never half written). Run again after an interruption and the concepts
already in ``OUT.partial`` or in the rejects file are skipped.
"""

from __future__ import annotations

import contextlib
import filecmp
import glob
import json
import os
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ba_io import (
    JSON_WHITESPACE,
    DataError,
    JsonlAppender,
    UsageError,
    atomic_path,
    check_unnamed_rejects,
    default_rejects,
    distinct_paths,
    iter_jsonl,
    open_own,
    output_group,
    output_lock,
    output_target,
    progress,
    sweep_stale_tmp,
    tmp_file,
    validate,
)
from ba_io.locking import lock_path
from ba_metric import CATEGORIES

from .teachers import Draft, Teacher, teacher_setup

__all__ = ["SynthResult", "partial_path", "synth"]

_CATEGORIES = CATEGORIES  # ba-metric owns the document format


@dataclass(frozen=True)
class SynthResult:
    """Counts of one ``synth`` run: ``total`` concepts = ``written`` + ``rejected``;
    ``resumed`` of them were already done by an earlier, interrupted run."""

    total: int
    written: int
    rejected: int
    resumed: int


def partial_path(out: str | os.PathLike[str]) -> Path:
    """Where ``synth`` appends rows while it runs: ``OUT.partial``."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


def _read_concepts(path: Path) -> list[tuple[int, dict]]:
    rows = list(iter_jsonl(path, "concept", hint="make them with `ba-datagen concepts`"))
    seen: dict[str, int] = {}
    for line, row in rows:
        if row["id"] in seen:
            raise DataError(path, line, f"duplicate id {row['id']!r} (first on line {seen[row['id']]})")
        seen[row["id"]] = line
    return rows


def _drop_if_empty(*paths: Path) -> None:
    """Remove the partial files when none holds a row: nothing to resume from (only plain
    files: a link or anything else put at such a name is not synth's)."""
    try:
        if any(not stat.S_ISREG(st.st_mode) or st.st_size for st in (os.lstat(p) for p in paths if os.path.lexists(p))):
            return
    except OSError:
        return
    for p in paths:
        p.unlink(missing_ok=True)


def _drop_own_if_empty(*appenders: JsonlAppender) -> None:
    """Remove the partial files the run opened when none holds a row, each only while its
    name still holds that file (campaign 43: an empty file of the user's moved onto
    OUT.partial while the first row was written was deleted by a Ctrl-C)."""
    if not any(appender.size for appender in appenders):
        for appender in appenders:
            appender.remove()


#: how every row and reject synth appends begins (ba_io.append_jsonl's compact form, id first)
_ROW_START = b'{"id":'
#: what every row and reject synth appends holds
_ROW_KEYS = frozenset({"id", "concept", "teacher"})


def _complete_lines(path: Path) -> tuple[list[bytes], bytes]:
    """The whole lines of a partial file and its torn tail (what a kill mid-write leaves)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    *complete, tail = data.split(b"\n")
    return complete, tail


def _check_partial_is_ours(path: Path, *, beside: Path | None = None) -> None:
    """``OUT.partial`` / ``REJECTS.partial`` may be missing, or what a synth run appends:
    JSON objects with its ``id``, ``concept`` and ``teacher``, the last one perhaps torn by a
    kill. ``REJECTS.partial`` is only ever left beside ``OUT.partial`` (``beside``): a run
    makes both and renames both. Anything else there is the user's, and is refused before a
    resume cuts its last line or a fresh run (or ``--restart``) empties it or renames it away;
    an empty ``REJECTS.partial`` alone is what a kill between the two files' creations left,
    and is removed; one beside a set-aside ``OUT.partial`` (``--restart`` killed midway), or an
    ``OUT.partial`` whose other name is its set-aside one, has its set-aside finished."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode) and st.st_nlink == 2 and any(os.path.samestat(st, d.lstat()) for d in _discarded(path)):
        # campaign 41: a --restart killed between the link to its discarded name and the
        # unlink left it with two names, and every later run was refused: the set-aside is finished
        path.unlink()
        return
    # synth's working file is its own: a link (symbolic, or a second name of another file)
    # would write into someone else's file, and a FIFO or device would block or be replaced
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        raise UsageError(
            f"{path} is {what}; synth's partial files are its own; nothing was written: "
            "move it away or choose another -o/--rejects"
        )
    complete, tail = _complete_lines(path)
    ours = tail[: len(_ROW_START)] == _ROW_START[: len(tail[: len(_ROW_START)])]
    for raw in complete:
        if not ours:
            break
        try:
            row = json.loads(raw)
        except (ValueError, RecursionError):
            ours = False
        else:
            ours = isinstance(row, dict) and _ROW_KEYS <= row.keys() and isinstance(row["id"], str)
    if not ours:
        raise UsageError(
            f"{path} exists and is not a partial file of synth (a file of yours?); nothing was written: "
            "move it away or choose another -o/--rejects"
        )
    if st.st_nlink > 1:
        # campaign 10: appended to, a file with other names changed the user's copy; campaign 41:
        # refused, a hard-link snapshot (`cp -al`) of an interrupted run could not be resumed or
        # restarted: synth takes a copy of its own, and the other names keep the file as it was
        _own_copy(path)
    if beside is not None and not beside.exists() and _discarded(beside):
        # campaign 41: a --restart killed after it set OUT.partial aside and before REJECTS.partial
        # left this one alone, and every later run was refused: the set-aside is finished
        _set_aside(path)
        return
    if beside is not None and not beside.exists() and st.st_size == 0:
        # campaign 40: a kill between the two partial files' creations left this one alone,
        # empty, and every later run (--restart too) was refused: it holds nothing to keep
        path.unlink()
        return
    if beside is not None and not beside.exists():  # campaign 16: it was called "a file of yours?"
        raise UsageError(
            f"{path} holds the partial rejects of another synth run ({beside} does not exist, so it is not "
            "this run's); nothing was written: resume that run with its own -o, move the file away, "
            "or choose another --rejects"
        )


def _own_copy(path: Path) -> None:
    """Put a copy of ``path`` at its name (the file's other names keep the file itself). Its
    tmp file has ba-io's tmp name: a copy killed mid-way is swept by a later run."""
    fd, tmp = tmp_file(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(path.read_bytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _discarded(path: Path) -> list[Path]:
    """Where ``--restart`` set ``path`` aside (``NAME.discarded-<UTC time>[-N]``), oldest first."""
    return sorted(path.parent.glob(glob.escape(path.name) + ".discarded-*"))


def _set_aside(*paths: Path) -> None:
    """``--restart``: move each non-empty partial file to a new name of its own
    (``NAME.discarded-<UTC time>[-N]``, never one that exists) and say so on stderr, so that
    starting over never deletes rows (nor a file of the user's that looks like synth's)."""
    import datetime as _dt

    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for path in paths:
        if not path.exists() or not path.stat().st_size:
            continue
        rows = sum(1 for line in path.read_bytes().split(b"\n") if line.strip(JSON_WHITESPACE.encode()))
        for n in range(1000):
            aside = path.with_name(f"{path.name}.discarded-{stamp}{f'-{n}' if n else ''}")
            try:
                os.link(path, aside)  # fails on an existing name: nothing is ever replaced
            except FileExistsError:
                continue
            path.unlink()
            break
        else:  # pragma: no cover - a thousand restarts in one second
            raise UsageError(f"{path}: no free name to set it aside; move it away and run again")
        print(
            f"synth --restart: the interrupted run's {rows} rows in {path} were moved to {aside} "
            "(delete it when you no longer need them)",
            file=sys.stderr,
        )


def _identity(path: Path) -> tuple[int, int] | None:
    """The file at ``path`` (device, inode), None where there is none."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _drop_partial_tail(path: Path, checked: tuple[int, int] | None) -> None:
    """Cut an unfinished last line (a run killed mid-write) so appends start clean: in its
    own file only, never through a link put there meanwhile (campaign 40), and only in the
    file the resume's checks read (``checked``; campaign 42: a file of the user's moved there
    after the checks lost its last line)."""
    if not os.path.lexists(path):
        return
    with os.fdopen(open_own(path, os.O_RDWR, f"move it away, then {_REMEDY}"), "r+b") as f:
        st = os.fstat(f.fileno())
        if (st.st_dev, st.st_ino) != checked:
            raise DataError(path, None, f"was replaced while this run read it; nothing was cut: {_REMEDY}")
        data = f.read()
        if data and not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)


def _tail_of_this_input(tail: bytes, concepts: Mapping[str, str]) -> bool:
    """Whether a torn last line is the start of what synth appends for a concept of this
    input: a row (``{"id":ID,"concept":TEXT,...``) or a reject (``{"id":ID,"line":...``)."""
    if not tail:
        return True
    for rid, text in concepts.items():
        row = json.dumps({"id": rid, "concept": text}, ensure_ascii=False, separators=(",", ":"))[:-1]
        rej = json.dumps({"id": rid, "line": 0}, ensure_ascii=False, separators=(",", ":"))[: -len("0}")]
        for head in (row.encode(), rej.encode()):
            n = min(len(tail), len(head))
            if tail[:n] == head[:n] and (len(tail) <= len(head) or head.endswith(b":") or tail[n : n + 1] == b","):
                return True
    return False


def _same_teacher(written: Any, teacher: str) -> bool:
    """Whether a partial row's ``teacher`` names this run's: the same spec, however its path
    is spelled (``hf:DIR/`` or a link for ``hf:DIR``, campaign 24)."""
    if written == teacher:
        return True
    if not isinstance(written, str) or "template" in (written, teacher):
        return False
    from ba_llm import canonical_spec

    return bool(canonical_spec(written) == canonical_spec(teacher))


def _check_same_setup(path: Path, line: int, row: Mapping[str, Any], teacher: str, setup: str, sha: str) -> None:
    """A partial row is resumed only when this run would write it again: the same teacher and
    setup, from the same concept row (campaign 22: rows of another teacher or prompt were
    kept; campaign 23: a row written before the concept's domain and facts were edited)."""
    rid = row["id"]
    older = "an older version of synth, which did not record the teacher's setup and the concept row it wrote from"
    if "teacher_setup" not in row or "concept_sha256" not in row:
        what = older
    elif not _same_teacher(row.get("teacher"), teacher):
        what = f"teacher {row.get('teacher')!r}"
    elif row.get("teacher_setup") != setup:
        what = "another prompt, decoding or model files of this teacher"
    elif row.get("concept_sha256") != sha:
        raise DataError(
            path,
            line,
            f"concept {rid!r} was written from another version of its input row (its facts, domain or other "
            "fields changed since the interrupted run); nothing was cut: run with --restart",
        )
    else:
        return
    hint = "run with --restart" if what == older else "rerun with the interrupted run's settings, or with --restart"
    raise DataError(
        path, line, f"concept {rid!r} was written by {what}, not by this run's {teacher!r} as set up now; "
        f"nothing was cut: {hint}",
    )  # fmt: skip


def concept_sha256(row: Mapping[str, Any]) -> str:
    """sha256 of a concept row as canonical JSON (sorted keys): what a teacher writes from."""
    import hashlib

    text = json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _done(
    path: Path, concepts: Mapping[str, str], teacher: str, setup: str, hashes: Mapping[str, str]
) -> dict[str, str]:
    """id -> concept text for every whole row already in ``path`` (a torn last line is not
    read: it is cut after every partial file has passed this check, never before). Every row
    must be of this input (its concept text) and of this teacher and setup (campaign 22:
    rows of another teacher, or of the same model with another prompt, were kept)."""
    done: dict[str, str] = {}
    if not path.exists():
        return done
    complete, tail = _complete_lines(path)
    if not _tail_of_this_input(tail, concepts):
        raise DataError(
            path,
            len(complete) + 1,
            "an unfinished last line that is not a row of this input (a file of yours?); "
            "nothing was cut: move it away or run with --restart",
        )
    for line, raw in enumerate(complete, start=1):
        if not raw.strip(JSON_WHITESPACE.encode()):
            continue
        try:
            row = json.loads(raw)
        except (ValueError, RecursionError):
            raise DataError(path, line, "not a JSON row; delete the file or run with --restart") from None
        rid = row.get("id") if isinstance(row, dict) else None
        if not isinstance(rid, str):
            raise DataError(path, line, "row has no string 'id'; delete the file or run with --restart")
        if rid not in concepts:
            raise DataError(
                path,
                line,
                f"concept {rid!r} is not in the input file; "
                "the input changed since the interrupted run: run with --restart",
            )
        if row.get("concept") != concepts[rid]:
            raise DataError(
                path,
                line,
                f"concept {rid!r} differs from the input file; "
                "the input changed since the interrupted run: run with --restart",
            )
        _check_same_setup(path, line, row, teacher, setup, hashes[rid])
        if rid in done:  # campaign 15: a partial file with a row twice gave more rows than concepts
            raise DataError(
                path,
                line,
                f"concept {rid!r} is here twice (a run writes each once); nothing was cut: run with --restart",
            )
        done[rid] = row.get("concept", "")
    return done


def _row(concept: Mapping[str, Any], teacher: str, setup: str, doc: Mapping[str, Any], draft: Draft) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": concept["id"],
        "concept": concept["concept"],
        "teacher": teacher,
        "teacher_setup": setup,
        "concept_sha256": concept_sha256(concept),
    }
    if "domain" in concept:
        row["domain"] = concept["domain"]
    for key in ("title", "description", *_CATEGORIES):
        if key in doc:
            row[key] = doc[key]
    if draft.text is not None:
        row["text"] = draft.text
    row.update({k: v for k, v in draft.meta.items() if k not in row})
    return row


def _settle(concept: Mapping[str, Any], line: int, teacher: str, setup: str, draft: Draft) -> tuple[dict, str | None]:
    """(row, None) for the output or (reject, reason) for the rejects file."""
    doc = draft.document
    reason = draft.error
    if reason is None and doc is None:
        from ba_metric import ParseError, parse

        try:
            doc = parse(draft.text or "")
        except ParseError as exc:
            reason = f"unparseable teacher output: {exc}"
    if reason is None:
        assert doc is not None  # parsed above when the teacher gave text only
        missing = [k for k in ("title", "description", *_CATEGORIES) if k not in doc]
        if missing:
            reason = f"teacher output lacks {', '.join(missing)}"
        else:
            row = _row(concept, teacher, setup, doc, draft)
            issues = validate(row, "example-v1")
            if not issues:
                return row, None
            reason = f"not a v1 example: {issues[0]}"
    if draft.meta.get("finish_reason") == "length":
        reason += " (the output was cut at --max-new-tokens)"
    reject = {
        "id": concept["id"],
        "line": line,
        "reason": reason,
        "concept": concept["concept"],
        "teacher": teacher,
        "teacher_setup": setup,
        "concept_sha256": concept_sha256(concept),
    }
    if draft.text is not None:
        reject["text"] = draft.text
    reject.update({k: v for k, v in draft.meta.items() if k not in reject})
    return reject, reason


def synth(
    in_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    teacher: Teacher,
    *,
    rejects: str | os.PathLike[str] | None = None,
    restart: bool = False,
    show_progress: bool = True,
    prompt: str | os.PathLike[str] | None = None,
) -> SynthResult:
    """Write one teacher document per concept of ``in_path`` to ``out_path``.

    Args:
        in_path: concepts (``concept`` schema), unique ids.
        out_path: v1 rows (``example-v1`` + ``id``, ``concept``, ``teacher``, ``domain``, and
            for LLM teachers the raw ``text``).
        teacher: see :class:`ba_datagen.teachers.Teacher`.
        rejects: where concepts without a usable document go, each with ``id``, ``line``
            (in ``in_path``), ``reason`` and the raw ``text``; default ``OUT`` with
            ``.rejects.jsonl`` in place of ``.jsonl``.
        restart: ignore (and remove) the partial output and rejects of an interrupted run.
        show_progress: a progress bar on stderr.
        prompt: the teacher's prompt file, when one was given: an input, so no output or
            side file may be it.

    Raises:
        UsageError: missing input. DataError: a bad concept row, or a partial output that
            does not belong to this input.
    """
    in_path, out_path = Path(in_path), Path(out_path)
    rejects_path = Path(default_rejects(out_path, rejects))  # an unnamed one never replaces a file of yours
    distinct_paths(("--in", in_path), ("--prompt", prompt), ("-o", out_path), ("--rejects", rejects_path))
    # OUT and REJECTS are renamed into place: a folder, device, FIFO or socket there is refused
    # now, before any work; a link to a file is written through, so its side files (partial,
    # lock) are the ones beside the file it points at, and those are the ones checked below
    out_path, rejects_path = output_target(out_path), output_target(rejects_path)
    # the partial files are outputs too: the input may be none of them (a --restart deleted it)
    distinct_paths(  # the side files first, so that the message names the flag to change
        ("--in", in_path),
        ("--prompt", prompt),
        ("-o's partial file", partial_path(out_path)),
        ("--rejects' partial file", partial_path(rejects_path)),
        ("-o's lock file", lock_path(out_path)),
        ("--rejects' lock file", lock_path(rejects_path)),
        ("-o", out_path),
        ("--rejects", rejects_path),
    )
    _check_not_the_teachers_files(teacher, out_path, rejects_path)
    # a second run on OUT (or on the same --rejects) fails at once instead of sharing the
    # file, naming the lock (campaign 15: a run sharing --rejects was told the other run's
    # partial file was "a file of yours?")
    with output_lock(out_path), output_lock(rejects_path):
        # before anything cuts, empties or renames them; first what a killed copy left (_own_copy)
        for partial in (partial_path(out_path), partial_path(rejects_path)):
            sweep_stale_tmp(partial)
        _check_partial_is_ours(partial_path(out_path))
        _check_partial_is_ours(partial_path(rejects_path), beside=partial_path(out_path))
        return _synth_locked(in_path, out_path, rejects_path, teacher, restart, show_progress, rejects is not None)


def _check_not_the_teachers_files(teacher: Teacher, out_path: Path, rejects_path: Path) -> None:
    """An LLM teacher's model is an input: no output or side file of synth may be one of its
    files (campaign 14: `-o MODEL/config.json` emptied the model's config)."""
    from .teachers import LLMTeacher

    if not isinstance(teacher, LLMTeacher) or teacher._backend is not None:
        return
    from ba_llm import check_not_a_model_file

    for flag, path in (("-o", out_path), ("--rejects", rejects_path)):
        for side in (path, partial_path(path), lock_path(path)):
            check_not_a_model_file(teacher.name, side, flag)


def _start_partial(path: Path, data: bytes) -> None:
    """A new partial file holding ``data``: what is at its name goes first, a new file is
    made only where nothing is, never written through (campaign 39: a link, or a hard link,
    put at `OUT.rejects.jsonl.partial` while synth read its input was written through and
    the input, or a file of the user's, emptied)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a link (or a second name of a file) goes, its file is kept
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    except FileExistsError:
        raise UsageError(f"{path}: was put there while synth started; nothing was written: run again") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _open_partials(
    partial: Path,
    rejects_partial: Path,
    rejects_path: Path,
    texts: Mapping[str, str],
    restart: bool,
    who: tuple[str, str, Mapping[str, str]],
) -> tuple[dict[str, str], dict[str, str], dict[Path, tuple[int, int] | None]]:
    """Start the partial files afresh (``--restart`` sets an interrupted run's aside), or
    resume them: check every whole row against the input, then cut a torn last line.
    Returns the ids already written and already rejected, and the files (device, inode)
    they were read from."""
    made_rejects_partial = False
    if restart or not partial.exists():
        if restart:  # nothing is deleted: the interrupted run's rows are moved aside, and said so
            _set_aside(partial, rejects_partial)
        partial.unlink(missing_ok=True)
        _start_partial(rejects_partial, b"")
        _start_partial(partial, b"")
    elif not rejects_partial.exists():  # resuming a run of an older version: its rejects went to REJECTS
        _start_partial(rejects_partial, rejects_path.read_bytes() if rejects_path.is_file() else b"")
        made_rejects_partial = True
    checked = {p: _identity(p) for p in (partial, rejects_partial)}  # what the checks below read
    try:  # every partial file checked before any is cut: a refused one is left as it was
        done_rows = _done(partial, texts, *who)
        done_rejects = _done(rejects_partial, texts, *who)
        both = sorted(done_rows.keys() & done_rejects.keys())
        if both:
            raise DataError(
                partial, None, f"concept {both[0]!r} is both a row and a reject; nothing was cut: run with --restart"
            )
        _drop_partial_tail(partial, checked[partial])
        _drop_partial_tail(rejects_partial, checked[rejects_partial])
    except BaseException:
        if made_rejects_partial:  # a partial output refused as another input's: leave no new file
            rejects_partial.unlink(missing_ok=True)
        raise
    return done_rows, done_rejects, checked


def _open_appenders(
    partial: Path,
    rejects_partial: Path,
    done_in: Callable[[Path], dict],
    done: tuple[dict, dict],
    checked: Mapping[Path, tuple[int, int] | None],
) -> tuple[JsonlAppender, JsonlAppender]:
    """Open both partial files for the run: the files the resume read (``checked``), which,
    read again, must hold what the resume was decided from (campaign 28: a partial file cut
    in place between the two reads lost the rows it no longer held, exit 0)."""
    try:  # campaign 40: only its own files, never through a link put there meanwhile
        rows = JsonlAppender(partial, remedy=_REMEDY, own=True)
        try:
            appenders = (rows, JsonlAppender(rejects_partial, remedy=_REMEDY, own=True))
        except BaseException:
            rows.close()
            raise
    except BaseException:
        _drop_if_empty(partial, rejects_partial)
        raise
    moved_in = [a.path for a in appenders if a.identity != checked[a.path]]
    if moved_in:  # campaign 42: a file put there after the checks is not this run's, and is kept
        for appender in appenders:
            appender.close()
        raise DataError(moved_in[0], None, f"was replaced while this run read it: {_REMEDY}")
    try:
        if (done_in(partial), done_in(rejects_partial)) != done:
            raise DataError(partial, None, f"changed while this run read it: {_REMEDY}")
    except BaseException:
        _drop_own_if_empty(*appenders)
        for appender in appenders:
            appender.close()
        raise
    return appenders


def _drop_committed_copies(pairs: tuple[tuple[Path, Path], ...]) -> None:
    """A kill after the commit, before the partial files were removed, leaves them as
    copies of the OUT and REJECTS just committed: they are removed, not resumed (campaign
    37: a run on other input was refused as "the input changed", and --restart set aside
    rows that were already in OUT). Only when every partial file left is its output's copy."""
    left = [(source, target) for source, target in pairs if source.exists()]
    if left and all(target.is_file() and filecmp.cmp(source, target, shallow=False) for source, target in left):
        for source, _ in sorted(left, key=lambda pair: pair[0] == pairs[0][0]):  # the rejects first
            source.unlink()


def _rename_into_place(
    rows: JsonlAppender, out_path: Path, rejects: JsonlAppender, rejects_path: Path, named: bool
) -> None:
    """OUT and REJECTS are committed as one ba-io output group (campaign 36: a kill between
    the two renames left run 2's rejects beside run 1's rows, run 1's rejects gone), from
    copies of the partial files, which stay until both are in place: a refused or killed
    commit leaves the rows there for a resume, and a later run finds the whole earlier
    pair. OUT, make's target, appears last. An unnamed rejects path is checked again
    (campaign 28: a file of the user's put there mid-run was replaced), and in the rename
    itself (campaign 31: one put there just after that check was replaced). The copies are
    read through the files the run appended to, and a partial file is removed only while its
    name still holds that file (campaign 42: a file of the user's put at `OUT.partial` after
    the last check was committed as OUT, then deleted)."""
    kept = f"nothing was renamed, the rows are kept in {rows.path} and {rejects.path}"
    if not named:
        check_unnamed_rejects(rejects_path, kept)
    with output_group(refused=kept):
        for source, target in ((rows, out_path), (rejects, rejects_path)):
            with atomic_path(target) as tmp:
                try:
                    source.copy_to(tmp)
                except OSError as e:  # campaign 37: a full disk named the partial file, not -o
                    raise OSError(e.errno, f"{e.strerror or e}; {kept}", os.fspath(target)) from None
    for source in (rejects, rows):
        source.remove()


#: what a user does when a partial file changed under synth
_REMEDY = "run again to resume from what it holds (or --restart); nothing was renamed"


def _teach(
    pending: list[tuple[int, dict]],
    teacher: Teacher,
    setup: str,
    rows_out: JsonlAppender,
    rejects_out: JsonlAppender,
    bar: Any,
) -> tuple[int, int]:
    """Have the teacher write a document for every pending concept, in its batches, each
    appended as a row or a reject; returns (rows, rejects) added."""
    written = rejected = 0
    size = max(1, int(teacher.batch_size))
    for start in range(0, len(pending), size):
        batch = pending[start : start + size]
        drafts = teacher.write([row for _, row in batch])
        if len(drafts) != len(batch):
            raise RuntimeError(f"teacher {teacher.name} returned {len(drafts)} drafts for {len(batch)} concepts")
        for (line, concept), draft in zip(batch, drafts):
            record, reason = _settle(concept, line, teacher.name, setup, draft)
            if reason is None:
                rows_out.append(record)
                written += 1
            else:
                rejects_out.append(record)
                rejected += 1
            if bar is not None:
                bar.update(1)
    return written, rejected


def _synth_locked(
    in_path: Path,
    out_path: Path,
    rejects_path: Path,
    teacher: Teacher,
    restart: bool,
    show_progress: bool,
    rejects_named: bool,
) -> SynthResult:
    concepts = _read_concepts(in_path)
    texts = {row["id"]: row["concept"] for _, row in concepts}
    # rows and rejects both go to .partial files while the run lasts and are renamed onto
    # OUT and REJECTS together at the end: a run that fails (a teacher that cannot load,
    # Ctrl-C) leaves an earlier run's finished OUT and REJECTS as they were
    partial, rejects_partial = partial_path(out_path), partial_path(rejects_path)
    setup = teacher_setup(teacher)
    hashes = {row["id"]: concept_sha256(row) for _, row in concepts}
    who = (teacher.name, setup, hashes)
    _drop_committed_copies(((partial, out_path), (rejects_partial, rejects_path)))
    done_rows, done_rejects, checked = _open_partials(partial, rejects_partial, rejects_path, texts, restart, who)
    pending = [(line, row) for line, row in concepts if row["id"] not in done_rows and row["id"] not in done_rejects]
    resumed = len(concepts) - len(pending)
    written, rejected = len(done_rows), len(done_rejects)
    bar = progress(total=len(concepts), desc=f"synth {teacher.name}", unit="concept") if show_progress else None
    # each partial file is opened once, and must still be the same file, with only this
    # run's rows added, when it is renamed (campaign 26: another command's output committed
    # over OUT.partial mid-run took the rest of the rows and the rename, exit 0)
    appenders = _open_appenders(
        partial, rejects_partial, lambda p: _done(p, texts, *who), (done_rows, done_rejects), checked
    )
    with appenders[0] as rows_out, appenders[1] as rejects_out:
        try:
            if bar is not None:
                bar.update(resumed)
            added = _teach(pending, teacher, setup, rows_out, rejects_out, bar)
            written, rejected = written + added[0], rejected + added[1]
        except BaseException:
            _drop_own_if_empty(rows_out, rejects_out)  # a failure before the first row leaves no empty .partial
            raise
        finally:
            if bar is not None:
                bar.close()
        rejects_out.check_unchanged()  # a file put there by another command is left as it is
        rows_out.check_unchanged()
        _rename_into_place(rows_out, out_path, rejects_out, rejects_path, rejects_named)
    return SynthResult(total=len(concepts), written=written, rejected=rejected, resumed=resumed)
