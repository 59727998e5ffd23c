"""Validated JSON / JSONL reading and atomic writing.

Error policy (shared by every package):

* a missing input file raises :class:`UsageError` (exit 2 in a CLI);
* a bad row raises :class:`DataError` ``path:line: what`` (exit 1), unless a
  *rejects* file is given, in which case every bad line goes there as
  ``{"line": N, "reason": "...", "raw": "<line text>"}`` (:func:`reject_record`; a line
  that is not UTF-8 also keeps its exact bytes in ``raw_base64``) and every good row is
  returned: each input line ends in exactly one of the two.

Writes are atomic: a tmp file of the writer's own in the same folder
(``NAME.ba-io-<pid>.<random>.tmp``), fsync, ``os.replace``. Tmp files left by a writer that
died (kill -9, power loss) are removed by the next write of the same target.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import errno
import functools
import glob
import hashlib
import json
import math
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .errors import JSON_WHITESPACE, DataError, UsageError
from .paths import check_folder_resolution, check_write_through, commit_check, is_rechecked, recheck_at_commit, where
from .schemas import _validator, first_issue

if TYPE_CHECKING:
    from .commit_journal import GroupJournal

PathLike = str | os.PathLike[str]

_BOM = b"\xef\xbb\xbf"
# The longest JSON document or JSONL line a reader takes: far above any row or file of the
# pipeline, and a bound on what a device or a file that is not JSON (`--prompt /dev/zero`)
# can make a reader hold in memory before it is refused.
MAX_TEXT_BYTES = 256 * 1024 * 1024
_COMPACT = (",", ":")  # JSONL rows: the most compact one-line form


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999: valid JSON that no writer can write back (it becomes Infinity)
        raise ValueError(f"number {text[:40]} is out of range (it would be infinite)")
    return value


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)


def _encodable(obj: Any) -> bool:
    """False when a string in ``obj`` holds a lone surrogate (``"\\ud800"`` decodes to one):
    no UTF-8 writer could store it, so such a row is rejected when it is read."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    except (RecursionError, ValueError):
        return True  # judged elsewhere
    return True


def _type_name(obj: Any) -> str:
    if obj is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "list", dict: "object"}.get(
        type(obj), type(obj).__name__
    )


def _check_input(path: PathLike, hint: str | None) -> Path:
    if isinstance(path, str) and not path.strip():  # campaign 34: named `.` in the error
        raise UsageError("an input path is empty (an unset variable?); give a file path")
    p = Path(path)
    _recover_before_reading(p)
    if not p.exists():
        msg = f"input file not found: {os.fspath(path)}"
        raise UsageError(f"{msg} ({hint})" if hint else msg)
    if p.is_dir():
        raise UsageError(f"input is a directory, not a file: {os.fspath(path)}")
    _check_not_a_device(p)
    return p


def _recover_before_reading(p: Path) -> None:
    """An input a group killed mid-commit left beside files of another run is put right
    first (:mod:`ba_io.commit_journal`), so a reader never takes one run's train with
    another's val."""
    from .commit_journal import group_is_whole, journal_path, recover_commit

    real = os.path.realpath(p)  # a link's file: the journal is beside it
    try:
        recover_commit(real)
    except OSError as e:
        if group_is_whole(real):  # nothing to move: read it, the journal stays for a writer
            return
        raise UsageError(
            f"{p}: left half-replaced by a run that was killed ({journal_path(p)}), and it cannot be "
            f"put right here ({e.strerror or e}): run the command that writes it again"
        ) from None


def _check_not_a_device(p: Path) -> None:
    """A device as an input (`--prompt /dev/zero`: campaigns 24, 25) is refused, standard
    input excepted (`/dev/stdin` on a terminal is one); a pipe (`<(...)`) is read."""
    try:
        st = p.stat()
    except OSError:
        return  # opening it says why
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        try:
            stdin = os.path.samestat(st, os.fstat(0))
        except OSError:
            stdin = False
        if not stdin:
            raise UsageError(f"{os.fspath(p)}: not a regular file (a device or socket); give a file")


def _row_problem(row: Any, schema: str | None) -> str | None:
    """Why ``row`` is not an acceptable JSONL row, or None."""
    if not isinstance(row, dict):
        return f"expected a JSON object, got {_type_name(row)}"
    if schema is not None:
        issue = first_issue(row, schema)
        if issue is not None:
            return str(issue)
    return None


def _iter_lines(path: Path, schema: str | None) -> Iterator[tuple[int, str, dict | None, str | None]]:
    """Yield ``(line_no, raw_text, row, reason)`` for every non-blank line."""
    if schema is not None:
        _validator(schema)  # unknown schema name -> UsageError before reading anything
    try:
        f = open(path, "rb")
    except OSError as e:
        raise UsageError(f"cannot read {os.fspath(path)}: {e.strerror or e}") from e
    with f:
        for line_no, raw_bytes in enumerate(iter(lambda: f.readline(MAX_TEXT_BYTES + 1), b""), start=1):
            if len(raw_bytes) > MAX_TEXT_BYTES:
                raise DataError(path, line_no, f"line longer than {MAX_TEXT_BYTES >> 20} MiB: not a JSONL file")
            if line_no == 1 and raw_bytes.startswith(_BOM):
                raw_bytes = raw_bytes[len(_BOM) :]
            exact = raw_bytes[:-2] if raw_bytes.endswith(b"\r\n") else raw_bytes.removesuffix(b"\n")
            raw_bytes = raw_bytes.rstrip(b"\r\n")
            try:
                raw = raw_bytes.decode("utf-8")
            except UnicodeDecodeError as e:
                yield (
                    line_no,
                    _Undecoded(raw_bytes.decode("utf-8", errors="replace"), exact),
                    None,
                    f"invalid UTF-8: {e.reason} at byte {e.start}",
                )
                continue
            if not raw.strip(JSON_WHITESPACE):
                continue
            try:
                row = _loads(raw)
            except ValueError as e:
                msg = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
                col = f" (column {e.colno})" if isinstance(e, json.JSONDecodeError) else ""
                yield line_no, raw, None, f"invalid JSON: {msg}{col}"
                continue
            except RecursionError:
                yield line_no, raw, None, "invalid JSON: nested too deeply"
                continue
            if "\\u" in raw and not _encodable(row):
                yield line_no, raw, None, "invalid JSON: a \\u escape of a lone surrogate (not a Unicode character)"
                continue
            try:
                reason = _row_problem(row, schema)
            except RecursionError:
                reason = "nested too deeply"
            yield line_no, raw, (row if reason is None else None), reason


class _Undecoded(str):
    """The text of a line that is not UTF-8 (bad bytes replaced), keeping its exact bytes."""

    data: bytes

    def __new__(cls, text: str, data: bytes) -> _Undecoded:
        self = super().__new__(cls, text)
        self.data = data
        return self


def reject_record(line: int, reason: str, raw: str) -> dict[str, Any]:
    """The one form of a rejected input line: ``{"line", "reason", "raw"}``, plus
    ``raw_base64`` (the line's exact bytes) when the line was not UTF-8, so a rejects
    file loses nothing of the input."""
    record: dict[str, Any] = {"line": line, "reason": reason, "raw": str(raw)}
    if isinstance(raw, _Undecoded):
        record["raw_base64"] = base64.b64encode(raw.data).decode("ascii")
    return record


@dataclass(frozen=True)
class JsonlLine:
    """One non-blank input line: ``row`` is the JSON object, or None with ``error`` set."""

    number: int
    raw: str
    row: dict | None
    error: str | None


def iter_jsonl_lines(path: PathLike, *, hint: str | None = None) -> Iterator[JsonlLine]:
    """Every non-blank line of a JSONL file, readable or not (1-based line numbers).

    Unlike :func:`iter_jsonl` it does not stop at a bad line: each one comes back with
    ``row=None`` and ``error`` set (``invalid UTF-8: ...``, ``invalid JSON: ... (column N)``,
    ``expected a JSON object, got list``); ``raw`` is the line text without its newline
    (undecodable bytes replaced). A UTF-8 BOM on line 1 is dropped; NaN/Infinity are invalid.

    Raises:
        UsageError: the file is missing or is a directory (checked at the call, not at the
            first ``next()``); ``hint`` is appended to the missing-file message.
    """
    p = _check_input(path, hint)
    return (JsonlLine(number, raw, row, error) for number, raw, row, error in _iter_lines(p, None))


def iter_jsonl(path: PathLike, schema: str | None = None, *, hint: str | None = None) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_no, row)`` for each non-blank line; raise DataError at the first bad one.

    ``line_no`` is 1-based. ``hint`` is appended to the missing-file message,
    e.g. ``hint="run `make data` first?"``.
    """
    p = _check_input(path, hint)  # checked now, not at the first next()
    if schema is not None:
        _validator(schema)
    return _iter_checked(path, p, schema)


def _iter_checked(path: PathLike, p: Path, schema: str | None) -> Iterator[tuple[int, dict]]:
    for line_no, _raw, row, reason in _iter_lines(p, schema):
        if reason is not None:
            raise DataError(path, line_no, reason)
        yield line_no, row  # type: ignore[misc]


def read_jsonl(
    path: PathLike, schema: str | None = None, *, rejects: PathLike | None = None, hint: str | None = None
) -> list[dict]:
    """Read a JSONL file into a list of dicts (blank lines skipped).

    Without ``rejects``: raise :class:`DataError` at the first bad line.
    With ``rejects``: write every bad line to that file (atomically; written,
    possibly empty, every time) and return the good rows.
    """
    if rejects is None:
        return [row for _, row in iter_jsonl(path, schema, hint=hint)]
    p = _check_input(path, hint)
    good: list[dict] = []
    bad: list[dict] = []
    for line_no, raw, row, reason in _iter_lines(p, schema):
        if reason is None:
            good.append(row)  # type: ignore[arg-type]
        else:
            bad.append(reject_record(line_no, reason, raw))
    with atomic_write(rejects) as f:
        for rec in bad:
            f.write(json.dumps(rec, ensure_ascii=False, separators=_COMPACT) + "\n")
    return good


def read_json(path: PathLike, schema: str | None = None, *, hint: str | None = None) -> Any:
    """Read one JSON document; DataError ``path:line: invalid JSON: ...`` or ``path: json.path: ...``."""
    p = _check_input(path, hint)
    if schema is not None:
        _validator(schema)
    try:
        with open(p, "rb") as fh:
            data = fh.read(MAX_TEXT_BYTES + 1)
    except OSError as e:
        raise UsageError(f"cannot read {os.fspath(path)}: {e.strerror or e}") from e
    if len(data) > MAX_TEXT_BYTES:
        raise DataError(path, None, f"larger than {MAX_TEXT_BYTES >> 20} MiB: not a JSON file")
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(path, None, f"invalid UTF-8: {e.reason} at byte {e.start}") from None
    try:
        obj = _loads(text)
    except json.JSONDecodeError as e:
        raise DataError(path, e.lineno, f"invalid JSON: {e.msg} (column {e.colno})") from None
    except ValueError as e:
        raise DataError(path, None, f"invalid JSON: {e}") from None
    except RecursionError:
        raise DataError(path, None, "invalid JSON: nested too deeply") from None
    if "\\u" in text and not _encodable(obj):
        raise DataError(path, None, "invalid JSON: a \\u escape of a lone surrogate (not a Unicode character)")
    if schema is not None:
        try:
            issue = first_issue(obj, schema)
        except RecursionError:
            raise DataError(path, None, "nested too deeply") from None
        if issue is not None:
            raise DataError(path, None, str(issue))
    return obj


_GROUP: contextvars.ContextVar[list[tuple[Path, Path]] | None] = contextvars.ContextVar("ba_io_group", default=None)


@contextlib.contextmanager
def output_group(refused: str = "nothing was written there") -> Iterator[None]:
    """Commit every :func:`atomic_write` inside the block together, or none of them.

    Each write still goes to its own tmp file; the renames onto the targets wait until the
    block ends without an exception, and then run in reverse order of writing, so a
    command's first (primary) output, the one a Makefile rule waits for, appears last. On an
    exception every tmp file is removed and no target is touched. Groups nest (the inner
    one joins the outer). ``refused`` ends the error of a checked target refused at its
    rename (what became of the outputs: synth says where its rows are kept).
    """
    if _GROUP.get() is not None:
        yield
        return
    pending: list[tuple[Path, Path]] = []
    made: list[Path] = []  # folders the group's writes created, removed again when it fails
    token, dirs_token = _GROUP.set(pending), _GROUP_DIRS.set(made)
    try:
        yield
    except BaseException:
        for tmp, _ in pending:
            _discard(tmp)
        _remove_empty(made)
        raise
    finally:
        _GROUP.reset(token)
        _GROUP_DIRS.reset(dirs_token)
    from .commit_journal import group_journal, recover_commit
    from .locking import output_lock

    try:
        with contextlib.ExitStack() as locks:
            # campaign 25: two `split` runs committing at once left train of one and val of
            # the other; commits of one set of files now follow each other, each one whole
            for name in sorted({where(t) for _, t in pending}):
                locks.enter_context(output_lock(name, wait_s=COMMIT_WAIT_S, reentrant=True))
            for tmp, target in pending:  # every target still takes its file before the first rename
                recover_commit(target)
                _check_target(target, directory=tmp.is_dir())
                recheck_at_commit(target, refused)
            # campaign 34: a kill between two renames left one file new, another old
            with group_journal(pending, made) as journal:
                _place_all(list(reversed(pending)), refused, journal)
    except FileNotFoundError:
        for tmp, _ in pending:
            _discard(tmp)
        _remove_empty(made)
        if all(os.path.isdir(t.parent) and os.path.lexists(tmp) for tmp, t in pending):
            raise
        # campaign 41: a group's folder moved away while the command wrote it was an internal error
        raise UsageError(
            f"{', '.join(str(t) for _, t in pending)}: a folder of these was moved or removed while the command "
            "ran; nothing was written there: run the command again"
        ) from None
    except BaseException:
        for tmp, _ in pending:
            _discard(tmp)  # those already renamed are gone from their tmp name: no-op
        _remove_empty(made)
        raise
    finally:
        for tmp, _ in pending:
            _untrack_tmp(tmp)
    for folder in {target.parent for _, target in pending}:
        _fsync_dir(folder)


#: the suffix of an earlier output a group keeps until its last file is in place
_OLD = ".old"
#: what a killed writer leaves beside a target and the next write sweeps: its tmp file, a
#: group's kept earlier output, and a library's copy of the tmp file under a suffix it needs
#: (ba-tune saves DSPy's program at ``TMP.json``: campaign 36, never swept)
_LEFTOVERS = (".tmp", _OLD, ".tmp.json")


def _place_all(
    order: list[tuple[Path, Path]], refused: str = "nothing was written there", journal: GroupJournal | None = None
) -> None:
    """Rename each tmp onto its target in ``order``, keeping what each replaces until the
    last one is in place; when one fails (a checked target refused at its rename), the ones
    already placed are put back, so the group leaves every target as it was (campaign 33:
    compare's refused comparison.png left the new .md and .html beside the old .json). Where
    putting one back fails too, the group's ``journal`` (:func:`group_journal`) is kept, so
    the next ba-io command that touches one of the files puts the group right."""
    placed: list[tuple[Path, Path, Path | None, bool]] = []  # tmp, target, what it replaced, new
    try:
        for tmp, target in order:
            placed.append((tmp, target, *_place(tmp, target, refused)))
    except BaseException:
        for tmp, target, old, new in reversed(placed):
            try:
                _unplace(tmp, target, old, new)
            except OSError:
                if journal is not None:
                    journal.keep = True
        raise
    for _, _, old, _ in placed:
        if old is not None:
            _discard(old)


def _place(tmp: Path, target: Path, refused: str = "nothing was written there") -> tuple[Path | None, bool]:
    """Put ``tmp`` at ``target``; return where what it replaced now is (None: nothing, or
    it could not be kept) and whether ``target`` was new."""
    new = not os.path.lexists(target)
    with _busy_is_a_usage_error(target):
        check = None if tmp.is_dir() else commit_check(target)
        if check is not None:
            return _rename_checked(tmp, target, check, refused, keep_old=True), new
        if not new and _renameat2() is not None and (tmp.is_dir() == target.is_dir()) and not target.is_symlink():
            # the earlier output waits at NAME.ba-io-<pid>.<random>.old (ours alone: swept when
            # its writer is gone) until the last file of the group is in place
            swap = _move_to_own_name(tmp, target, _OLD)
            try:
                exchanged = _exchange_existing(swap, target)
            except BaseException:  # campaign 42: refused (EPERM: `chattr +i`), ours stayed at the .old name
                os.replace(swap, tmp)  # back at its tmp name, which the failed commit removes
                raise
            if exchanged:
                return swap, False
            os.replace(swap, tmp)
        _rename_onto(tmp, target)
        return None, new


@contextlib.contextmanager
def _busy_is_a_usage_error(target: Path) -> Iterator[None]:
    """A target the kernel will not rename (EBUSY: the current folder, a mount point) is a
    :class:`UsageError` naming it (campaign 30: `-o .` was an internal error)."""
    try:
        yield
    except OSError as e:
        if e.errno != errno.EBUSY:
            raise
        raise UsageError(
            f"{target}: cannot be replaced (it is in use: the current folder or a mount point); "
            "nothing was written there: choose another path"
        ) from None


def tmp_file(target: PathLike) -> tuple[int, Path]:
    """A new, empty tmp file of this process beside ``target``, in the folder the kernel
    writes (an open descriptor and its path), named as every ba-io write names its tmp file
    (``NAME.ba-io-<pid>.<random>.tmp``): :func:`sweep_stale_tmp` removes it once this process
    is gone. The caller renames it onto ``target`` or removes it."""
    target = Path(target)
    fd, name = tempfile.mkstemp(prefix=_tmp_prefix(target), suffix=".tmp", dir=_kernel_folder(target))
    return fd, Path(name)


def _move_to_own_name(tmp: Path, target: Path, suffix: str) -> Path:
    """Rename ``tmp`` (a file or a folder) to a fresh ``NAME.ba-io-<pid>.<random>SUFFIX``
    beside ``target``, from where it is exchanged with what is at ``target``."""
    fd, name = tempfile.mkstemp(prefix=_tmp_prefix(target), suffix=suffix, dir=_kernel_folder(target))
    os.close(fd)
    if tmp.is_dir():
        os.unlink(name)
    os.replace(tmp, name)
    return Path(name)


def _unplace(tmp: Path, target: Path, old: Path | None, new: bool) -> None:
    """Undo :func:`_place`: what was replaced goes back to ``target``, ours back to ``tmp``."""
    if old is not None and _exchange_existing(old, target):
        os.replace(old, tmp)
    elif new:
        os.replace(target, tmp)


#: how long a group's commit waits for another run's commit of the same files (a commit
#: takes milliseconds); a run that holds one for its whole length (synth) is an error then
COMMIT_WAIT_S = 10.0

_GROUP_DIRS: contextvars.ContextVar[list[Path] | None] = contextvars.ContextVar("ba_io_group_dirs", default=None)


def _make_parent(target: Path) -> None:
    """Create the target's folder (and those above it); inside an :func:`output_group`,
    remember the ones created, so a group that fails leaves no empty folder behind."""
    missing = []
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        if folder.is_symlink():  # campaign 41: `iterate-start --dir L`, L dangling, was an internal FileExistsError
            raise UsageError(
                f"{folder}: a symbolic link to a missing folder ({os.readlink(folder)}); nothing was written: "
                "create its target or choose another path"
            )
        missing.append(folder)
        folder = folder.parent
    target.parent.mkdir(parents=True, exist_ok=True)
    made = _GROUP_DIRS.get()
    if made is not None:
        made.extend(missing)


def _remove_empty(folders: list[Path]) -> None:
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):  # children before parents
        with contextlib.suppress(OSError):
            folder.rmdir()


#: a leftover tmp file is only swept when it is this old (seconds) and its writer is gone
STALE_TMP_AGE_S = 60.0
#: the random part tempfile gives our tmp names: exactly 8 of a-z, 0-9 and _, so a user's
#: ``train.jsonl.20240101.bak.tmp`` is never taken for a dead writer's leftover
_RANDOM = re.compile(r"[a-z0-9_]{8}")


def _check_target(target: Path, *, directory: bool = False) -> None:
    """An output may be new, of its own kind (a regular file; a folder for a folder), or a
    symbolic link to one (written through: see :func:`_resolve_target`); never a device,
    FIFO or socket, nor a link to one (``-o /dev/null`` or ``-o /dev/stdout`` would replace
    the device node or the link), nor a folder in a file's place, nor a dangling link (it
    would be replaced by the file and the user's link lost; ``cp`` refuses it too), nor a
    path under a file; a folder checked as one a command replaces must still lead where it
    led then (:func:`ba_io.paths.check_folder_resolution`: campaign 32)."""
    kept_for = reserved_name(target.name, commit=True)
    if kept_for is not None:
        raise UsageError(f"{target}: a name ba-io keeps for {kept_for}; nothing was written: choose another name")
    if directory:
        check_folder_resolution(target)
    try:
        st = target.lstat()
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise UsageError(
            f"{target}: a folder on this path is a file; nothing was written: choose another path"
        ) from None
    except OSError as e:
        raise OSError(e.errno, f"cannot write {target}: {e.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        try:
            st = target.stat()  # what the link points at: a link to a device (/dev/stdout) is one too
        except FileNotFoundError:
            raise UsageError(
                f"{target}: a symbolic link to a missing file ({os.readlink(target)}); nothing was written: "
                "create the target, remove the link or choose another path"
            ) from None
        except OSError:
            raise UsageError(f"{target}: a symbolic link that cannot be followed; nothing was written") from None
        if stat.S_ISREG(st.st_mode) or (directory and stat.S_ISDIR(st.st_mode)):
            return
    if directory:
        if not stat.S_ISDIR(st.st_mode):
            raise UsageError(f"{target}: exists and is not a folder; nothing was written: choose another path")
        return
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{target}: is a folder; nothing was written: give a file path")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(
            f"{target}: not a regular file (a device, FIFO or socket); nothing was written: give a file path"
        )
    from .locking import is_lock_file

    if target.name.endswith(".lock") and is_lock_file(target):
        # campaign 26: an output over another output's lock file was deleted with the lock
        raise UsageError(
            f"{target}: is the lock file of {target.name.removesuffix('.lock')}, held by a run or left by "
            "one that died; nothing was written: choose another name"
        )


def _resolve_target(target: Path, *, directory: bool = False) -> Path:
    """The path that is really replaced. A symbolic link to a regular file (to a folder, for
    a folder output) is written through: the linked file takes the new content and the link
    stays (``-o latest.jsonl`` with ``latest.jsonl -> run3.jsonl`` rewrites ``run3.jsonl``),
    as ``cp`` does; the user's link is never replaced by a file. A dangling link is replaced.
    A path checked again at its commit (an unnamed rejects path, a side output) is never
    followed: its check refuses the link there."""
    if not target.is_symlink() or is_rechecked(target):
        return target
    try:
        st = target.stat()
    except OSError:
        return target
    if stat.S_ISREG(st.st_mode) or (directory and stat.S_ISDIR(st.st_mode)):
        check_write_through(target)
        return Path(os.path.realpath(target))
    return target


def _kernel_folder(target: Path) -> str:
    """The folder ``target`` is written in as the kernel reaches it: Python's tempfile reads
    ``x/..`` lexically, so with ``x`` a link to ``far/a`` it made the tmp file beside the
    link while the target lay in ``far`` (campaign 36: a group's tmp files and what it kept
    were in one folder, its journal and target in another)."""
    return os.path.realpath(target.parent)


def output_target(path: PathLike, *, directory: bool = False) -> Path:
    """Check an output path up front and return the path really written: a new path, a
    regular file (a folder, for a folder output), or a link to one, written through. A
    folder in a file's place, a device, FIFO or socket (or a link to one) is a
    :class:`UsageError`. For commands that write by rename or append (resumable outputs)
    and must refuse before any work."""
    target = Path(path)
    _check_target(target, directory=directory)
    return _resolve_target(target, directory=directory)


def check_writable(path: PathLike) -> None:
    """Refuse, before any work, an output whose folder cannot take a new file: the nearest
    existing folder of ``path`` gets a probe file of ours (created and removed at once).
    Campaign 24: `ba-eval generate --timings /sys/t.json` generated every document, then
    failed, and a rerun had nothing left to time."""
    target = Path(path)
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        fd, name = tempfile.mkstemp(prefix=_tmp_prefix(target), suffix=".tmp", dir=folder)
    except OSError as e:
        raise UsageError(
            f"{target}: cannot write in {folder} ({e.strerror or e}); nothing was done: choose another path"
        ) from None
    os.close(fd)
    os.unlink(name)


#: the tag in every tmp / aside name of ours: ``NAME.ba-io-<pid>.<random>.tmp``, so a file
#: of the user's such as ``o.jsonl.2024.backup_1.tmp`` is never taken for a dead writer's
_TMP_TAG = "ba-io-"


def _tmp_prefix(target: Path) -> str:
    return f"{target.name}.{_TMP_TAG}{os.getpid()}."


def _leftover_pid(target: Path, leftover: Path, suffix: str) -> int | None:
    """The writer pid of one of our tmp / aside names for ``target``, or None for any other name."""
    middle = leftover.name[len(target.name) + 1 : -len(suffix)]
    tagged, _, rand = middle.partition(".")
    # exactly ba-io-PID.RANDOM (tempfile's random part has no dot), so the tmp files of a
    # sibling target such as NAME.5 are never taken for ours
    if not tagged.startswith(_TMP_TAG) or not _RANDOM.fullmatch(rand):
        return None
    pid_text = tagged[len(_TMP_TAG) :]
    return int(pid_text) if pid_text.isdigit() else None


#: what ba-io (and ba-metric, which stands alone) makes beside a target under a name of its
#: own, and later removes or puts back: ``NAME.ba-io-<pid>.<random>`` and one of these suffixes
_RESERVED = re.compile(r"\.ba-(io|metric)-[0-9]+\.[a-z0-9_]{8}(\.tmp\.json|\.tmp|\.old|\.swap|\.aside)\Z")


def reserved_name(name: str, *, commit: bool = False) -> str | None:
    """What the pipeline keeps the file or folder name ``name`` for, or None: a commit
    journal (``*.ba-io-commit``: campaign 35), a tmp, kept or set-aside file or folder of a
    write (``NAME.ba-io-<pid>.<random>.tmp`` ..., ba-metric's ``NAME.ba-metric-...``), which
    a later write removes or puts back (campaign 40: `-o O.jsonl.ba-io-30001.abcd1234.tmp`
    was written, then deleted by the next `-o O.jsonl`; campaign 41: a training run and an
    iterations folder at such names were removed whole), a lock (``NAME.lock``: campaign 41,
    `-o x.jsonl.lock` had every later write of x.jsonl refused) or synth's partial file
    (``NAME.partial``: campaign 41, the next `synth -o NAME` took it for its own rows and
    deleted it). An output the user names there is refused; ``commit``: only the names no
    commit may land on (journals, tmp files), checked again at every commit (a lock and a
    partial file are written by their own code, at names the command derives)."""
    from .commit_journal import JOURNAL_SUFFIX

    if name.endswith(JOURNAL_SUFFIX):
        return f"a commit journal (*{JOURNAL_SUFFIX})"
    if _RESERVED.search(name):
        return "the tmp files of its writes (*.ba-io-PID.RANDOM.tmp and the like), which a later write removes"
    if commit:
        return None
    if name.endswith(".lock") and name != ".lock":
        return "the lock of an output (*.lock)"
    if name.endswith(".partial") and name != ".partial":
        return "synth's rows in progress (*.partial), which its next run resumes"
    return None


def reserved_for(path: PathLike) -> str | None:
    """What :func:`reserved_name` keeps the name an output at ``path`` takes for, or None:
    its last part as written, and the name the kernel reaches (campaign 42: `-o X.lock/.` and
    `-o X.lock/sub/..` passed a check of the last part as written and made a folder at the
    lock's name of X)."""
    text = os.fspath(path)
    for name in (os.path.basename(text.rstrip("/")), os.path.basename(os.path.realpath(text))):
        kept_for = reserved_name(name)
        if kept_for is not None:
            return kept_for
    return None


def check_not_reserved(path: PathLike, flag: str) -> None:
    """:class:`UsageError` when the name an output at ``path`` takes is one :func:`reserved_name` keeps."""
    kept_for = reserved_for(path)
    if kept_for is not None:
        raise UsageError(f"{flag} {path}: a name ba-io keeps for {kept_for}; nothing was written: choose another name")


def is_tmp_name(target: PathLike, name: str) -> bool:
    """Whether ``name`` is one of our tmp names for ``target`` (``NAME.ba-io-<pid>.<random>.tmp``
    or ``.old``, its writer alive or not): what a kill can leave beside a file written by path."""
    t = Path(target)
    return name.startswith(f"{t.name}.{_TMP_TAG}") and any(
        name.endswith(suffix) and _leftover_pid(t, t.with_name(name), suffix) is not None for suffix in _LEFTOVERS
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def sweep_stale_tmp(target: PathLike, *, directory: bool = False) -> list[Path]:
    """Remove the tmp files / folders of ``target`` (``NAME.ba-io-<pid>.<random>.tmp``, and
    ``.old``: an earlier output a group's commit kept until its last file was in place) whose
    writer process no longer exists and that are older than :data:`STALE_TMP_AGE_S`;
    return what was removed. A live writer's tmp file is never touched. For a folder target
    (``directory``) a folder a dead writer moved aside is put back or removed first
    (:func:`_restore_aside`); only folder writes move anything aside, so for a file target
    such a folder is left alone (campaign 17: one was restored onto a file output's path)."""
    from .commit_journal import recover_commit

    target = Path(target)
    removed: list[Path] = []
    recover_commit(target)  # a killed group's earlier files are put back before any is swept
    if directory:
        _restore_aside(target)
    try:
        candidates = [
            (p, suffix) for suffix in _LEFTOVERS for p in target.parent.glob(f"{glob.escape(target.name)}.*{suffix}")
        ]
    except OSError:
        return removed
    now = time.time()
    _tell_kept_swaps(target)
    for tmp, suffix in candidates:
        pid = _leftover_pid(target, tmp, suffix)
        if pid is None or pid == os.getpid() or _pid_alive(pid):
            continue
        try:
            if now - tmp.lstat().st_mtime < STALE_TMP_AGE_S:
                continue
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp)
            else:
                tmp.unlink()
        except OSError:
            continue
        removed.append(tmp)
    return removed


#: the ``.swap`` leftovers this process has already named on stderr
_TOLD_SWAPS: set[str] = set()


def _tell_kept_swaps(target: Path) -> None:
    """A ``.swap`` a killed writer left (what was at ``target`` when it was killed inside a
    checked rename: possibly a file of the user's) is never removed; the next write of
    ``target`` says where it is, once, in one ``warning:`` line (campaign 34: the rerun
    exited 0 and said nothing, and the user's file stayed at that name unseen)."""
    import sys

    try:
        swaps = list(target.parent.glob(f"{glob.escape(target.name)}.*.swap"))
    except OSError:
        return
    for swap in sorted(swaps):
        pid = _leftover_pid(target, swap, ".swap")
        if pid is None or pid == os.getpid() or _pid_alive(pid) or os.fspath(swap) in _TOLD_SWAPS:
            continue
        _TOLD_SWAPS.add(os.fspath(swap))
        with contextlib.suppress(OSError, ValueError):
            print(
                f"warning: {swap}: a run killed while it replaced {target.name} left this file here "
                "(the earlier file there, or one of yours); it is kept: move it back or remove it",
                file=sys.stderr,
            )


def _restore_aside(target: Path) -> None:
    """A folder moved aside by :func:`_replace` (``NAME.ba-io-<pid>.<random>.aside``) whose writer
    died before the new folder took its place: put it back when the target is missing (the
    earlier output is never lost), remove it when the target is there."""
    try:
        asides = list(target.parent.glob(f"{glob.escape(target.name)}.*.aside"))
    except OSError:
        return
    for aside in asides:
        pid = _leftover_pid(target, aside, ".aside")
        if pid is None or not aside.is_dir() or aside.is_symlink():
            continue
        if pid == os.getpid() or _pid_alive(pid):
            continue
        with contextlib.suppress(OSError):
            if time.time() - aside.lstat().st_mtime < STALE_TMP_AGE_S:
                continue  # may be another host's writer between its two renames
            if not os.path.lexists(target):
                os.replace(aside, target)
            else:
                shutil.rmtree(aside)


def _commit(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` onto ``target`` now, holding ``target``'s lock (waiting up to
    :data:`COMMIT_WAIT_S` for another run's), or when the enclosing :func:`output_group` ends."""
    group = _GROUP.get()
    if group is not None:
        group.append((tmp, target))
        return
    # a file written alone takes its lock as a group's commit does (campaign 28: `ba-io
    # validate -o P.jsonl` replaced the output a running `ba-eval generate` appended to)
    from .commit_journal import recover_commit
    from .locking import output_lock

    with _folder_gone_is_a_usage_error(tmp, target):
        with output_lock(target, wait_s=COMMIT_WAIT_S, reentrant=True):
            recover_commit(target)
            _check_target(target, directory=tmp.is_dir())
            recheck_at_commit(target)
            _replace(tmp, target)
        _fsync_dir(target.parent)


@contextlib.contextmanager
def _folder_gone_is_a_usage_error(tmp: Path, target: Path) -> Iterator[None]:
    """A commit whose folder was moved or removed while the command wrote it (campaign 40:
    `mv A/checkpoints/best best-so-far` during ba-lora's save of the best adapter was an
    internal FileNotFoundError) is one :class:`UsageError` naming the target."""
    try:
        yield
    except FileNotFoundError:
        if os.path.isdir(target.parent) and os.path.lexists(tmp):
            raise
        _discard(tmp)
        raise UsageError(
            f"{target}: its folder was moved or removed while the command ran; nothing was written there: "
            "run the command again"
        ) from None


def _replace(tmp: Path, target: Path) -> None:
    """``os.replace``; a folder onto an existing folder: the two are exchanged in one step
    (``renameat2(RENAME_EXCHANGE)``) and the old one, now at the tmp name, is removed, so a
    reader, or a kill at any instant, sees the old folder or the new one, never none or a
    mix. Where the exchange is not available the old folder is moved aside
    (``NAME.ba-io-<pid>.<random>.aside``) first; a writer killed between the two renames leaves
    it there, and the next write of the target puts it back (:func:`sweep_stale_tmp`). A
    target the kernel will not rename (EBUSY: the current folder, a mount point) is a
    :class:`UsageError` naming it (campaign 30: `-o .` was an internal error)."""
    with _busy_is_a_usage_error(target):
        check = None if tmp.is_dir() else commit_check(target)
        if check is not None:
            _rename_checked(tmp, target, check, "nothing was written there")
        else:
            _rename_onto(tmp, target)


def _rename_onto(tmp: Path, target: Path) -> None:
    if tmp.is_dir() and target.is_dir() and not target.is_symlink():
        if _exchange(tmp, target):
            shutil.rmtree(tmp, ignore_errors=True)
            return
        aside = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target), suffix=".aside", dir=_kernel_folder(target)))
        os.replace(target, aside)  # rename onto our own empty folder
        os.replace(tmp, target)
        shutil.rmtree(aside, ignore_errors=True)
        return
    os.replace(tmp, target)


_RENAME_NOREPLACE = 1  # linux/fs.h
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def rename_rechecked(src: PathLike, target: PathLike, written: str = "nothing was written there") -> None:
    """Rename the file ``src`` onto ``target``; when ``target`` is a path checked up front
    and again at its commit (an unnamed rejects path, a side output: ``ba_io.paths``), what
    is replaced there is checked by the same rule in the same step (see
    :func:`_rename_checked`), so a file of the user's is never replaced (:class:`UsageError`,
    ``src`` kept). For a writer that renames its own file into place (synth's partial files)."""
    src, target = Path(src), Path(target)
    check = commit_check(target)
    if check is None:
        os.replace(src, target)
    else:
        _rename_checked(src, target, check, written)


def _rename_checked(tmp: Path, target: Path, check: Any, written: str, keep_old: bool = False) -> Path | None:
    """Campaign 31 (D7): a file copied to an unnamed rejects path between the commit's check
    and the rename was replaced. The check and the rename are now one step as the user sees
    it: where nothing is, ours goes in only while nothing is there (``RENAME_NOREPLACE``, or
    a hard link); where something is, it is exchanged with ours (``RENAME_EXCHANGE``) and
    what came out is checked; a file that is not ours (the user's, a link) is exchanged back
    at once and the commit refused. Without ``renameat2`` (another OS or filesystem) the
    check runs just before the rename, as before.

    The exchange is made from a name of its own, ``NAME.ba-io-<pid>.<random>.swap``, which no
    sweep removes and no reader takes for its file (campaign 33: a kill between the exchange
    and the check left the user's file at the writer's tmp name, and the next run's sweep
    deleted it; at synth's partial name, the earlier run's rejects were taken for this one's):
    a kill in that instant leaves the earlier file, or this run's, at that name. With
    ``keep_old`` the earlier file stays at that name and its path is returned (None when
    nothing was there), for a group that may still have to put it back."""
    for _ in range(3):  # what is at target may change between the two kinds of rename
        placed = _rename_noreplace(tmp, target)
        if placed:
            return None
        if placed is None or _renameat2() is None:
            check(os.fspath(target), written)
            os.replace(tmp, target)
            return None
        swap = _move_to_own_name(tmp, target, ".swap")
        try:
            swapped = _exchange_existing(swap, target)
        except BaseException:
            os.replace(swap, tmp)  # ours, back where the caller discards it
            raise
        if not swapped:
            os.replace(swap, tmp)
            if swapped is None:  # no exchange on this file system: checked just before, as before
                check(os.fspath(target), written)
                os.replace(tmp, target)
                return None
            continue  # gone meanwhile: try again from the start
        try:
            check(os.fspath(swap), written)  # what was at target, now at the swap name
        except BaseException:
            if _exchange_existing(swap, target) is not True:
                raise UsageError(
                    f"{target}: a file was put there while it was written and could not be put back; "
                    f"it is at {swap}: move it back by hand"
                ) from None
            os.replace(swap, tmp)  # ours, back where the caller discards it
            raise
        if keep_old:
            return swap
        _discard(swap)  # the earlier output this one replaces
        return None
    raise UsageError(f"{target}: changed again and again while it was replaced; {written}: run again")


def rename_noreplace(src: PathLike, dst: PathLike) -> bool | None:
    """Rename ``src`` (a file or a folder) to ``dst`` only while nothing is at ``dst``, in one
    step: True when done, False when something is there (nothing renamed), None where this
    system cannot do it in one step (no ``renameat2``; a folder cannot be hard-linked)."""
    return _rename_noreplace(Path(src), Path(dst))


def _rename_noreplace(a: Path, b: Path) -> bool | None:
    """Rename ``a`` to ``b`` only when nothing is at ``b``: True when done, False when
    something is there, None where neither ``renameat2`` nor a hard link can do it."""
    fn = _renameat2()
    if fn is not None:
        if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_NOREPLACE) == 0:
            return True
        import ctypes

        err = ctypes.get_errno()
        if err == errno.EEXIST:
            return False
        if err not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise OSError(err, f"cannot write {b}: {os.strerror(err)}")
    try:
        os.link(a, b)
    except FileExistsError:
        return False
    except OSError:
        return None
    os.unlink(a)
    return True


def _exchange_existing(a: Path, b: Path) -> bool | None:
    """Exchange ``a`` and ``b`` in one step: True when done, False when ``b`` is gone
    meanwhile (the caller tries again), None where the exchange is not available here."""
    try:
        return True if _exchange(a, b) else None
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
        return False


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically (Linux ``renameat2``); False where the kernel,
    the C library or the filesystem cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    import ctypes

    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, f"cannot replace {b}: {os.strerror(err)}")


@functools.lru_cache(maxsize=1)
def _renameat2() -> Any:
    if os.environ.get("BA_IO_NO_EXCHANGE"):  # tests: the fallback path
        return None
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


#: the folder each live tmp file or folder was made in, open (O_PATH): a tmp whose folder was
#: moved away while the command wrote it is removed from where the folder went (campaign 41: the
#: adapter's tmp file stayed for good in `best-so-far/`, a user's folder no rerun looks at)
_TMP_FOLDERS: dict[Path, int] = {}


def _track_tmp(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        _TMP_FOLDERS[tmp] = os.open(tmp.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def _untrack_tmp(tmp: Path) -> None:
    fd = _TMP_FOLDERS.pop(tmp, None)
    if fd is not None:
        os.close(fd)


def _discard(tmp: Path) -> None:
    """Remove a tmp file or folder of this process; by the folder it was made in when that
    folder no longer holds it by its path (moved away meanwhile). A tmp already renamed onto
    its target has no name left there: nothing is removed."""
    fd = _TMP_FOLDERS.pop(tmp, None)
    try:
        with contextlib.suppress(OSError):
            if fd is not None and not os.path.lexists(tmp):
                _discard_at(fd, tmp.name)
            elif tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp)
            else:
                tmp.unlink()
    finally:
        if fd is not None:
            os.close(fd)


def _discard_at(folder_fd: int, name: str) -> None:
    if not stat.S_ISDIR(os.stat(name, dir_fd=folder_fd, follow_symlinks=False).st_mode):
        os.unlink(name, dir_fd=folder_fd)
        return
    fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder_fd)
    try:  # its contents through the folder opened (shutil.rmtree takes dir_fd from Python 3.11 on)
        inside = f"/proc/self/fd/{fd}"
        for entry in os.listdir(inside):
            _discard(Path(inside, entry))
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=folder_fd)


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "w") -> Iterator[IO]:
    """Write ``path`` atomically: yields a file open on a temporary file of its own in the
    same folder (``NAME.ba-io-<pid>.<random>.tmp``).

    On success the tmp file is fsynced and ``os.replace``d onto ``path`` (inside an
    :func:`output_group`, when the group ends); on an exception it is removed and an
    existing ``path`` is left untouched. Each writer has its own tmp file, so two runs
    writing one path leave one whole file (the last to finish), never a mix. An unwritable
    folder is reported with ``path``, not the tmp name. ``mode`` is ``"w"`` (UTF-8 text) or
    ``"wb"``. Stale tmp files of ``path`` left by dead writers are swept first.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', got {mode!r}")
    target = Path(path)
    _check_target(target)
    target = _resolve_target(target)
    try:
        _make_parent(target)
        sweep_stale_tmp(target)
        fd, tmp = tmp_file(target)
    except OSError as e:
        raise OSError(e.errno, f"cannot write {target}: {e.strerror}") from None
    _track_tmp(tmp)
    os.chmod(fd, 0o666 & ~_umask())
    f = os.fdopen(fd, "w", encoding="utf-8", newline="\n") if mode == "w" else os.fdopen(fd, "wb")
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _commit(tmp, target)
    except BaseException as e:
        _discard(tmp)
        named = named_write_error(e, target, tmp)
        if named is not None:
            raise named from e
        raise
    if _GROUP.get() is None:
        _untrack_tmp(tmp)  # in place (a group's tmp files are let go when the group ends)


@contextlib.contextmanager
def atomic_path(path: PathLike, *, directory: bool = False) -> Iterator[Path]:
    """Like :func:`atomic_write` for libraries that write by path (a GGUF writer,
    ``save_pretrained``): yields a fresh tmp path of its own next to ``path`` (a folder,
    already made, when ``directory``); when the block ends without an exception it is
    renamed onto ``path`` (with the enclosing :func:`output_group`), otherwise removed.

    A file target is replaced atomically. An existing folder target is moved aside and
    removed after the new one is in place, so the caller decides first that the folder is
    one it may replace (its own earlier output, never a user's folder).
    """
    target = Path(path)
    _check_target(target, directory=directory)
    target = _resolve_target(target, directory=directory)
    missing = not os.path.lexists(target)
    try:
        _make_parent(target)
        sweep_stale_tmp(target, directory=directory)
        if missing and os.path.lexists(target):
            # campaign 18: a dead writer's earlier folder was put back here after the command
            # had checked the path (missing), and would have been replaced unchecked
            raise UsageError(
                f"{target}: an earlier output, moved aside by a writer that was killed, was put back "
                "there; nothing was written: check that folder, then run the command again"
            )
        if directory:
            tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target), suffix=".tmp", dir=_kernel_folder(target)))
        else:
            fd, tmp = tmp_file(target)
            os.chmod(fd, 0o666 & ~_umask())
            os.close(fd)
    except OSError as e:
        raise OSError(e.errno, f"cannot write {target}: {e.strerror}") from None
    _track_tmp(tmp)
    if directory:
        os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        with _folder_gone_is_a_usage_error(tmp, target):
            _share_like_umask(tmp)
            if not directory:
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
            _commit(tmp, target)
    except BaseException as e:
        _discard(tmp)
        named = named_write_error(e, target, tmp)
        if named is not None:
            raise named from e
        raise
    if _GROUP.get() is None:
        _untrack_tmp(tmp)


#: a short write reported without an errno (the GGUF writer): the disk was full
_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")


def named_write_error(exc: BaseException, target: PathLike, tmp: PathLike | None = None) -> OSError | None:
    """The error of a write that failed at ``target`` without naming it (or naming the tmp
    file or folder it was written in), as an OSError that names ``target`` (campaign 24: a
    full disk was "No space left on device" with no file, a path inside a tmp folder, or an
    internal error for safetensors' and the GGUF writer's failures); None for any other
    exception."""
    enospc = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(target))
    if isinstance(exc, OSError) and exc.filename and tmp is not None:
        name, inside = os.fspath(exc.filename), os.fspath(tmp)
        if exc.errno is not None and (name == inside or name.startswith(inside + os.sep)):
            return OSError(exc.errno, exc.strerror or str(exc), os.fspath(target) + name[len(inside) :])
    if isinstance(exc, OSError) and not exc.filename:
        if exc.errno is None and _SHORT_WRITE.search(str(exc)):
            return enospc
        if exc.errno is not None:
            return OSError(exc.errno, exc.strerror or str(exc), os.fspath(target))
    elif type(exc).__name__ == "SafetensorError" and "os error 28" in str(exc):
        return enospc
    return None


def _share_like_umask(tmp: Path) -> None:
    """Give what a library wrote at ``tmp`` (a file, or the files and folders inside a tmp
    folder) the modes a plain write gets under the umask: safetensors creates its files 0600,
    so merged weights were unreadable by the service that runs them (campaign 24)."""
    files, dirs = 0o666 & ~_umask(), 0o777 & ~_umask()
    if tmp.is_symlink():
        return
    if tmp.is_file():
        if os.lstat(tmp).st_nlink == 1:
            os.chmod(tmp, files)
        return
    for root, subdirs, names in os.walk(tmp):
        for name in subdirs:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                os.chmod(p, dirs)
        for name in names:
            p = os.path.join(root, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 1:  # a hard link in it is another file's too
                os.chmod(p, files)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _dumps_row(path: PathLike, index: int | None, obj: Any, **kw: Any) -> str:
    kw.setdefault("separators", _COMPACT)
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False, **kw)
    except (TypeError, ValueError) as e:
        raise DataError(path, index, f"cannot serialise to JSON: {e}") from None


def _check_row(path: PathLike, line: int | None, row: Any, schema: str | None) -> None:
    reason = _row_problem(row, schema)
    if reason is not None:
        raise DataError(path, line, reason)


def write_jsonl(path: PathLike, rows: Iterable[dict], schema: str | None = None) -> int:
    """Validate every row, then write them atomically, one compact object per line.

    A bad row raises DataError ``path:<row index + 1>: json.path: message`` and
    nothing is written. NaN/Infinity are refused (not JSON). Returns the row count.
    """
    if schema is not None:
        _validator(schema)
    lines: list[str] = []
    for i, row in enumerate(rows, start=1):
        _check_row(path, i, row, schema)
        lines.append(_dumps_row(path, i, row))
    with atomic_write(path) as f:
        for line in lines:
            f.write(line)
            f.write("\n")
    return len(lines)


def append_jsonl(path: PathLike, row: dict, schema: str | None = None) -> None:
    """Append one validated row to ``path`` and flush + fsync it.

    For resumable jobs that append as they go: the file being appended to is the
    job's in-progress output (not atomic as a whole; each row is one write). If the
    file does not end in a newline (a job killed mid-write), a newline is written
    first so the new row starts on its own line; the partial line then shows up as
    an invalid-JSON line on reading (use ``rejects=`` to skip it). A job appending many
    rows to a file it renames at the end holds a :class:`JsonlAppender` instead.
    """
    with JsonlAppender(path, schema, track=False) as out:
        out.append(row)


class JsonlAppender:
    """``path`` opened once for appending validated rows (each one write, flushed and
    fsynced), for a job that appends for a long time (and perhaps renames the file when it
    is done): :meth:`check_unchanged` says whether the file at ``path`` is still the one
    this run opened, holding what it held then plus this run's rows and nothing else.
    Campaign 26: `synth` reopened ``OUT.partial`` by name for every row; another command's
    output committed there mid-run took the rest of the rows and the rename, and synth
    exited 0 with rows lost. Campaign 27: a write in place (`> OUT.partial`, `cp`, `>>`)
    keeps the inode, so the check compares the file's bytes, read through the open file,
    with a running digest of what it held when opened plus what this run appended.

    ``fresh``: the file must not exist yet (created here, never someone else's appended
    to). ``track=False`` (one row appended by :func:`append_jsonl`) skips the digest, so
    appending does not re-read the file, and :meth:`check_unchanged` is not available.
    ``remedy`` ends the message of a failed check or append: what the user does next.
    ``own``: the file is the command's own working file (synth's ``OUT.partial``): it is
    opened only when it is a plain file with no other name, never through a link (campaign
    40: a link to a file of the user's put there while a resume read its input had every row
    appended to that file), and :meth:`check_unchanged` looks at the name, not through it."""

    def __init__(
        self,
        path: PathLike,
        schema: str | None = None,
        *,
        fresh: bool = False,
        track: bool = True,
        remedy: str = "run again to resume from what it holds",
        own: bool = False,
    ) -> None:
        self.path = Path(path)
        self.schema = schema
        self.written = 0
        self.remedy = remedy
        self._track = track
        self._own = own
        target = self.path if own else output_target(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | (os.O_EXCL if fresh else 0)
            fd = open_own(target, flags, f"move it away, then {remedy}") if own else os.open(target, flags, 0o666)
            self._file = os.fdopen(fd, "a+b")
            self._size = os.fstat(self._file.fileno()).st_size
            self._digest = _digest_of(self._file.fileno(), self._size) if track else None
            self._newline = self._size > 0 and os.pread(self._file.fileno(), 1, self._size - 1) != b"\n"
        except OSError as e:
            if hasattr(self, "_file"):
                self._file.close()
            named = named_write_error(e, target)
            if named is not None:
                raise named from e
            raise

    def append(self, row: dict) -> None:
        _check_row(self.path, None, row, self.schema)
        line = (("\n" if self._newline else "") + _dumps_row(self.path, None, row) + "\n").encode("utf-8")
        try:
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as e:
            self._drop_buffer()
            if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or _SHORT_WRITE.search(str(e)):
                # campaign 28: "(nothing was written there)" about a file that keeps its rows
                raise UsageError(
                    f"{self.path}: {os.strerror(e.errno or errno.ENOSPC)}; the rows it held before this one "
                    f"are kept there: free some space and {self.remedy}"
                ) from e
            named = named_write_error(e, self.path)
            if named is not None:
                raise named from e
            raise
        if self._digest is not None:
            self._digest.update(line)
        self._size += len(line)
        self._newline = False
        self.written += 1

    @property
    def identity(self) -> tuple[int, int]:
        """The open file's (device, inode)."""
        st = os.fstat(self._file.fileno())
        return st.st_dev, st.st_ino

    @property
    def size(self) -> int:
        """The bytes the file holds by this appender's account (at open, plus its rows)."""
        return self._size

    def check_unchanged(self, full: bool = True) -> None:
        """Raise :class:`DataError` when ``path`` is no longer this file, or was written
        by someone else too: its size is not the size this run left, or (``full``, which
        reads the whole file) its bytes are not the bytes this run left."""
        if self._digest is None:
            raise ValueError("check_unchanged needs a JsonlAppender opened with track=True")
        fd = self._file.fileno()
        mine = os.fstat(fd)
        try:
            there = os.lstat(self.path) if self._own else os.stat(self.path)
            same = os.path.samestat(there, mine) and mine.st_size == self._size
            same = same and (not full or _digest_of(fd, self._size).digest() == self._digest.digest())
        except OSError:
            same = False
        if not same:
            raise DataError(
                self.path,
                None,
                f"was replaced or written by another command while this run appended {self.written} rows to it: "
                f"{self.remedy}",
            )

    def copy_to(self, dest: PathLike) -> None:
        """Write the bytes this appender accounts for into ``dest`` (a file the caller owns: a
        tmp file of :func:`atomic_path`), read through the open file, never by its name
        (campaign 42: synth committed a file of the user's put at ``OUT.partial`` after the
        last check as OUT); :class:`DataError` when they are not what this run left there
        or the name no longer holds this file (checked after the copy)."""
        if self._digest is None:
            raise ValueError("copy_to needs a JsonlAppender opened with track=True")
        fd, copied, offset = self._file.fileno(), hashlib.sha256(), 0
        with open(dest, "wb") as out:
            while offset < self._size:
                chunk = os.pread(fd, min(1 << 20, self._size - offset), offset)
                if not chunk:
                    break
                out.write(chunk)
                copied.update(chunk)
                offset += len(chunk)
        if copied.digest() != self._digest.digest():
            raise DataError(self.path, None, f"was written by another command while this run copied it: {self.remedy}")
        self.check_unchanged(full=False)

    def remove(self) -> bool:
        """Remove the file's name while it still holds this file (a file put there meanwhile
        is kept: campaign 42, synth deleted one after its commit); True when removed."""
        try:
            if os.path.samestat(os.lstat(self.path), os.fstat(self._file.fileno())):
                os.unlink(self.path)
                return True
        except OSError:
            pass
        return False

    def _drop_buffer(self) -> None:
        """After a failed write (a full disk), forget the unwritten bytes so that
        :meth:`close` does not fail again with an error naming no file (campaign 27)."""
        with contextlib.suppress(OSError, ValueError):
            self._file.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):  # only after a failed append, already raised
            self._file.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_own(path: PathLike, flags: int, remedy: str = "move it away, then run again") -> int:
    """Open a command's own working file (synth's ``OUT.partial``) with ``flags`` and return
    the descriptor, only when the name holds a plain file with no other name: a symbolic
    link is not followed and a hard link is refused (campaign 40: a link to a file of the
    user's put there while a resume read its input had every row appended to that file), a
    :class:`UsageError` ending with ``remedy``; the file at the name is kept as it was."""
    try:
        fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0), 0o666)
    except OSError as e:
        if e.errno != errno.ELOOP:
            raise
        fd, what = -1, "a symbolic link"
    else:
        st = os.fstat(fd)
        what = (
            "not a regular file"
            if not stat.S_ISREG(st.st_mode)
            else ""
            if st.st_nlink == 1
            else "a file with other names (hard links)"
        )
    if not what:
        return fd
    if fd >= 0:
        os.close(fd)
    raise UsageError(
        f"{path}: is {what}, put there while the command ran, not its own file; it was kept and nothing "
        f"was written through it: {remedy}"
    )


def _digest_of(fd: int, size: int) -> Any:
    """A running sha256 of the first ``size`` bytes of the open file ``fd`` (read with
    pread: the file's position, where appends go, is not moved)."""
    digest = hashlib.sha256()
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(1 << 20, size - offset), offset)
        if not chunk:  # shorter than it was: the digest of what is there differs
            digest.update(b"\0truncated")
            break
        digest.update(chunk)
        offset += len(chunk)
    return digest


def write_text(path: PathLike, text: str) -> None:
    """Write ``text`` atomically (UTF-8): a report page, a Markdown table."""
    with atomic_write(path) as f:
        f.write(text)


def write_json(path: PathLike, obj: Any, schema: str | None = None) -> None:
    """Validate ``obj`` then write it atomically (indent=2, key order kept, UTF-8, trailing newline)."""
    if schema is not None:
        issue = first_issue(obj, schema)
        if issue is not None:
            raise DataError(path, None, str(issue))
    text = _dumps_row(path, None, obj, indent=2, sort_keys=False, separators=(",", ": "))
    with atomic_write(path) as f:
        f.write(text + "\n")
