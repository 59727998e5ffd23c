"""JSONL scoring and summaries behind the ``ba-metric`` CLI (importable, no argparse)."""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .score import COMPONENTS, DEFAULT_THRESHOLD, score

__all__ = [
    "DataError",
    "UsageError",
    "read_jsonl",
    "score_row",
    "select_document",
    "summarize",
    "format_summary",
    "write_jsonl",
    "write_stdout",
]


class DataError(Exception):
    """A problem in the input data: ``Error: <file>:<line>: <what>``, exit 1."""

    exit_code = 1

    def __init__(self, path: str, line: int | None, what: str) -> None:
        self.path, self.line, self.what = path, line, what
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {what}")


class UsageError(Exception):
    """A problem with the command line or the files it names, exit 2."""

    exit_code = 2


#: the longest line read (a bound on what a device or a file that is not JSONL can make the
#: reader hold; the rule of ``ba_io``'s readers, kept here as ba-metric depends on nothing)
MAX_LINE_BYTES = 256 * 1024 * 1024


def read_jsonl(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, row) for each non-blank line; ``-`` reads standard input; a
    device (``/dev/zero``) is refused and a line over ``MAX_LINE_BYTES`` is an error."""
    if path == "-":
        stream = sys.stdin.buffer
    else:
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise UsageError(f"{path}: file not found") from None
        except IsADirectoryError:
            raise UsageError(f"{path}: is a directory") from None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
        mode = os.fstat(stream.fileno()).st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
            stream.close()
            raise UsageError(f"{path}: not a regular file (a device or socket); give a file, or - for stdin")
    try:
        for number, raw in enumerate(iter(lambda: stream.readline(MAX_LINE_BYTES + 1), b""), start=1):
            if len(raw) > MAX_LINE_BYTES:
                raise DataError(path, number, f"line longer than {MAX_LINE_BYTES >> 20} MiB: not a JSONL file")
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 BOM, as every ba-* reader accepts
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(path, number, f"invalid UTF-8 at byte {exc.start + 1}") from None
            if not line.strip(" \t\r\n"):  # JSON's whitespace only: a line of \x1c or U+2028 is a bad row
                continue
            try:
                row = json.loads(line.rstrip("\r\n"), parse_constant=_reject_constant, parse_float=_finite_float)
            except json.JSONDecodeError as exc:
                raise DataError(path, number, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
            except RecursionError:
                raise DataError(path, number, "invalid JSON: nested too deeply") from None
            except ValueError as exc:  # NaN / Infinity, an integer over Python's digit limit
                raise DataError(path, number, f"invalid JSON: {' '.join(str(exc).split())[:160]}") from None
            if "\\u" in line and not _encodable(row):
                raise DataError(
                    path, number, "invalid JSON: a \\u escape of a lone surrogate (not a Unicode character)"
                )
            if not isinstance(row, dict):
                raise DataError(path, number, f"row is not a JSON object (got {_json_type(row)})")
            yield number, row
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999: valid JSON that would be written back as Infinity, which is not
        raise ValueError(f"number {text[:40]} is out of range (it would be infinite)")
    return value


def _encodable(row: Any) -> bool:
    """False when a string holds a lone surrogate: no UTF-8 output could store it (the same
    policy as ba-io's readers; ba-metric stays free of sibling imports)."""
    try:
        json.dumps(row, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}.get(
        type(value), type(value).__name__
    )


def select_document(row: dict[str, Any], field: str | None, path: str, line: int) -> Any:
    """What to score in a row: ``field`` if given, else ``text``, else ``document``, else the
    row itself read as document fields (dataset rows)."""
    if field is not None:
        if field not in row:
            raise DataError(path, line, f"row has no field {field!r}")
        return row[field]
    for name in ("text", "document"):
        if name in row:
            return row[name]
    return row


def score_row(
    row: dict[str, Any],
    *,
    field: str | None = None,
    concept_field: str = "concept",
    threshold: float = DEFAULT_THRESHOLD,
    path: str = "<row>",
    line: int = 0,
    with_error: bool = False,
) -> dict[str, Any]:
    """The row plus ``score``, ``breakdown``, ``grounding``, ``content``, ``defects`` and
    ``passed`` (and ``parse_error``, None when the document parsed, with ``with_error``).
    The one row scorer: ``ba-metric score`` and ba-eval's scored predictions use it."""
    concept = row.get(concept_field)
    result = score(select_document(row, field, path, line), concept if isinstance(concept, str) else None)
    out = dict(row)
    out["score"] = result.total
    out["breakdown"] = dict(result.breakdown)
    out["grounding"] = result.grounding
    out["content"] = result.content
    out["defects"] = list(result.defects)
    out["passed"] = result.passed(threshold)
    if with_error:
        out["parse_error"] = result.error
    return out


def sample_sd(values: Sequence[float]) -> float | None:
    """The one standard-deviation convention of the project: the sample SD (ddof=1); 0.0
    for one value, None for none."""
    n = len(values)
    if n == 0:
        return None
    if n == 1:
        return 0.0
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def component_pass_rates(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Per rubric component (:data:`COMPONENTS`), the share of scored rows that got its full
    points; 0.0 for every component of an empty input."""
    n = len(rows)
    return {
        name: (sum(1 for r in rows if r["breakdown"].get(name, 0.0) >= full - 1e-9) / n if n else 0.0)
        for name, full in COMPONENTS.items()
    }


def defect_rates(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Per defect kind (``duplicate``, ``filler``, ...), the share of scored rows with at least one."""
    counts: dict[str, int] = {}
    for r in rows:
        for kind in {str(code).split(":", 1)[0] for code in r.get("defects", ())}:
            counts[kind] = counts.get(kind, 0) + 1
    return {k: counts[k] / len(rows) for k in sorted(counts)} if rows else {}


def write_stdout(text: str) -> None:
    """Write ``text`` to stdout whole, or raise :class:`UsageError` (exit 2). An unbuffered
    stdout (``PYTHONUNBUFFERED=1``: a text layer over a raw file) drops what a short write
    leaves over (campaign 25: `score > FILE` on a full disk kept 418 of 1,050 rows, exit 0), so
    the bytes go to the binary layer until all are taken. ``ba_io``'s CLI wrapper has the same
    rule; ba-metric keeps its own copy because it depends on nothing of this project."""
    stream = sys.stdout
    if stream is None:  # `>&-` (campaign 26: AttributeError): a closed stdout, as a reader gone is
        raise BrokenPipeError(errno.EPIPE, "standard output is closed")
    buf = getattr(stream, "buffer", None)
    try:
        if buf is None or not isinstance(getattr(stream, "encoding", None), str):
            stream.write(text)
            stream.flush()
            return
        stream.flush()
        # UTF-8 whatever the locale says (campaign 26: PYTHONIOENCODING=ascii failed on a
        # concept's accents): the rows are JSON Lines, UTF-8 by definition
        view = memoryview(text.encode("utf-8", errors=stream.errors or "strict"))
        while view:
            n = buf.write(view)
            view = view[n or 0 :]
        buf.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        try:  # what stays buffered goes nowhere: the interpreter's flush at exit must not fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        raise UsageError(
            f"cannot write to standard output: {e.strerror or e}; what was written there is incomplete"
        ) from None


def write_jsonl(rows: Iterable[dict[str, Any]], out: str | None, check: Callable[[str], None] | None = None) -> None:
    """Write rows as JSONL to ``out`` atomically (``out.tmp`` then rename) or to stdout;
    ``check(path)`` runs just before the rename, on the path renamed onto (the CLI's "-o is
    not the input": campaign 38, a link ``O.jsonl -> in.jsonl`` put while ``score`` ran had
    the input replaced; campaign 39, one re-pointed there and back while it ran)."""
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if out is None or out == "-":
        write_stdout(text)
        return
    try:
        target = _checked_target(out)
    except OSError as exc:  # campaign 27: a name too long (ENAMETOOLONG) was an internal error
        raise UsageError(f"{out}: cannot write: {exc.strerror or exc}; nothing was written") from None
    tmp: Path | None = None
    try:  # a tmp file of its own: two runs on one output leave one whole file, never a mix
        _sweep_stale_tmp(target)
        fd, name = tempfile.mkstemp(
            prefix=f"{target.name}.{_TMP_TAG}{os.getpid()}.",
            suffix=".tmp",
            dir=_folder_of(target),
        )
        tmp = Path(name)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(fd, 0o666 & ~mask)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if check is not None:
            check(os.fspath(target))
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise UsageError(f"{out}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise


#: ``OUT.ba-metric-PID.RANDOM.tmp``: the tmp file of a write, named with its writer's pid so
#: that one a kill left is known for a leftover (campaign 31: ``P.jsonl.XXXXXXXX.tmp`` stayed)
_TMP_TAG = "ba-metric-"
_STALE_TMP_S = 60.0


def _folder_of(target: Path) -> Path:
    """The folder the kernel writes ``target`` in: ``..`` after a link goes up from where the
    link led (campaign 40: `-o latest/../r3/S.jsonl` made its tmp file at `r3/`, collapsed as
    text, and failed), the rule of ``ba_io``'s tmp files, kept here because ba-metric stands alone."""
    return Path(os.path.realpath(target.parent if str(target.parent) else "."))


def _sweep_stale_tmp(target: Path) -> None:
    """Remove this output's tmp files whose writer is gone and that are a minute old."""
    folder = _folder_of(target)
    pattern = re.compile(re.escape(f"{target.name}.{_TMP_TAG}") + r"([0-9]+)\.[a-z0-9_]{8}\.tmp")
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        m = pattern.fullmatch(name)
        if m is None or _alive(int(m.group(1))):
            continue
        path = folder / name
        try:
            if path.is_file() and not path.is_symlink() and time.time() - path.stat().st_mtime >= _STALE_TMP_S:
                path.unlink()
        except OSError:
            continue


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _checked_target(out: str) -> Path:
    """The file ``-o`` writes (a link's target: the user's link stays, as cp keeps it), or
    :class:`UsageError` for a path that must not be replaced."""
    target = Path(out)
    if target.exists() and not target.is_file():  # follows links: a link to a device is refused too
        # a folder, a device (-o /dev/null would replace the device node), a FIFO or a socket
        raise UsageError(
            f"{out}: not a regular file; nothing was written: give a file path (or no -o to write to stdout)"
        )
    if target.is_symlink() and not target.exists():  # replacing it would lose the user's link
        raise UsageError(
            f"{out}: a symbolic link to a missing file; nothing was written: create the target or choose another path"
        )
    kept_for = _reserved(target.name)
    if kept_for is not None:  # campaign 40: written there, it broke or was deleted by a later write
        raise UsageError(f"{out}: a name kept for {kept_for}; nothing was written: choose another path")
    if _is_lock_file(target):  # campaign 27: replacing a running command's lock broke it
        raise UsageError(f"{out}: is the lock file of another run's output; nothing was written: choose another path")
    real = Path(os.path.realpath(target))  # campaign 29: a link to a locked output was written through
    for lock in dict.fromkeys((_lock_of(target), _lock_of(real))):
        _check_not_held(out, lock)
    return real if target.is_symlink() else target


#: names the ba-io package and this one make beside an output and later remove or read:
#: ba-io's commit journal and the tmp files of both (``ba_io.jsonio.reserved_name``'s rule,
#: kept here because ba-metric depends on nothing of this project)
_RESERVED = (
    (re.compile(r"\.ba-io-commit\Z"), "a commit journal of ba-io (*.ba-io-commit)"),
    (
        re.compile(r"\.(ba-io|ba-metric)-[0-9]+\.[a-z0-9_]{8}(\.tmp\.json|\.tmp|\.old|\.swap|\.aside)\Z"),
        "the tmp files of a write (*.ba-io-PID.RANDOM.tmp and the like), which a later write removes",
    ),
    (re.compile(r".\.lock\Z"), "the lock of an output (*.lock)"),
    (re.compile(r".\.partial\Z"), "synth's rows in progress (*.partial), which its next run resumes"),
)


def _reserved(name: str) -> str | None:
    return next((what for pattern, what in _RESERVED if pattern.search(name)), None)


def _check_not_held(out: str, lock: Path) -> None:
    holder = _lock_holder(lock)
    if holder is not None:  # campaign 28: replaced the output a running `ba-eval generate` appended to
        raise UsageError(
            f"{out}: another run is writing it{f' (pid {holder})' if holder else ''}, locked in {lock}; "
            "nothing was written: wait for it to finish or choose another output"
        )


#: the first bytes of a lock file of the ba-io package (``ba-io-lock PID``): the rule of
#: ``ba_io.locking.is_lock_file``, kept here because ba-metric depends on nothing of this project
_LOCK_TAG = re.compile(rb"ba-io-lock +[0-9]+\n?")


def _lock_of(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _lock_holder(lock: Path) -> str | None:
    """The pid in ``lock`` while a running command of this project holds it (``""`` when it
    names none), else None: the check ``ba_io.output_lock`` makes, read-only here."""
    if not _is_lock_file(lock):
        return None
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 64, 0).decode("ascii", "replace").split()[-1]
    except OSError:
        return None
    finally:
        os.close(fd)
    return None


def _is_lock_file(path: Path) -> bool:
    try:
        if not path.is_file() or path.stat().st_size > 64:
            return False
        with open(path, "rb") as f:
            return _LOCK_TAG.fullmatch(f.read(65)) is not None
    except OSError:
        return False


def _is_scored(row: dict[str, Any]) -> bool:
    total, breakdown = row.get("score"), row.get("breakdown")
    return (
        isinstance(total, (int, float))
        and not isinstance(total, bool)
        and isinstance(breakdown, dict)
        and all(isinstance(breakdown.get(name), (int, float)) for name in COMPONENTS)
    )


def _check_scores_in_range(row: dict[str, Any], path: str, line: int) -> None:
    """A row's own ``score``, ``content`` or ``grounding`` is a fraction; any other number
    (campaign 17: ``"score": 1e308`` overflowed the standard deviation) is a data error."""
    for key in ("score", "content", "grounding"):
        value = row.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not 0.0 <= value <= 1.0:
            raise DataError(path, line, f"{key} {value!r} is not between 0 and 1 (a score this tool wrote is)")


def summarize(
    rows: Iterable[tuple[int, dict[str, Any]]],
    *,
    field: str | None = None,
    concept_field: str = "concept",
    threshold: float = DEFAULT_THRESHOLD,
    path: str = "<rows>",
) -> dict[str, Any]:
    """Statistics over scored rows (rows without ``score``/``breakdown`` are scored here);
    ``std`` is the sample SD (:func:`sample_sd`)."""
    scored: list[dict[str, Any]] = []
    for line, row in rows:
        _check_scores_in_range(row, path, line)
        if not _is_scored(row):
            row = score_row(row, field=field, concept_field=concept_field, path=path, line=line)
        if not isinstance(row.get("content"), (int, float)) or not isinstance(row.get("defects"), list):
            found = score_row(row, field=field, concept_field=concept_field, path=path, line=line)
            row = {**row, "content": found["content"], "defects": found["defects"]}
        scored.append(row)
    totals = [float(r["score"]) for r in scored]
    groundings = [float(r["grounding"]) for r in scored if isinstance(r.get("grounding"), (int, float))]
    contents = [float(r["content"]) for r in scored]
    n = len(totals)
    return {
        "count": n,
        "mean": sum(totals) / n if n else None,
        "std": sample_sd(totals),
        "min": min(totals) if n else None,
        "max": max(totals) if n else None,
        "threshold": threshold,
        "pass_rate": sum(t >= threshold for t in totals) / n if n else None,
        "grounding_mean": sum(groundings) / len(groundings) if groundings else None,
        "grounding_count": len(groundings),
        "components": component_pass_rates(scored) if n else dict.fromkeys(COMPONENTS),
        "content_mean": sum(contents) / n if n else None,
        "content_min": min(contents) if n else None,
        "defect_rates": defect_rates(scored),
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def format_summary(stats: dict[str, Any]) -> str:
    """Human-readable summary (one ``key value`` per line)."""
    lines = [
        f"count           {stats['count']}",
        f"mean            {_fmt(stats['mean'])}",
        f"std             {_fmt(stats['std'])}",
        f"min             {_fmt(stats['min'])}",
        f"max             {_fmt(stats['max'])}",
        f"pass rate       {_fmt(stats['pass_rate'])}  (score >= {stats['threshold']})",
        f"grounding mean  {_fmt(stats['grounding_mean'])}  ({stats['grounding_count']} rows with a concept)",
        f"content mean    {_fmt(stats['content_mean'])}  (min {_fmt(stats['content_min'])})",
        "component pass rates (full points):",
    ]
    lines += [f"  {name:18s} {_fmt(rate)}" for name, rate in stats["components"].items()]
    lines.append("documents with each defect:" + ("" if stats["defect_rates"] else " none"))
    lines += [f"  {kind:18s} {_fmt(rate)}" for kind, rate in stats["defect_rates"].items()]
    return "\n".join(lines) + "\n"
