"""The one rule for a command's file arguments: no output is one of its inputs, and no two
outputs are one file.

``distinct_paths(("the input", src), ("-o", out), ("--rejects", rej))`` raises
:class:`UsageError` (exit 2) naming the two arguments that point at one file, before
anything is read or written. Two paths are one file when they resolve to the same real
path (symbolic links, ``..``) or, for files that exist, share device and inode (hard links).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any, Union

from .errors import JSON_WHITESPACE, UsageError

__all__ = [
    "check_not_under_file",
    "check_replaceable_folder",
    "check_side_folder",
    "default_rejects",
    "distinct_paths",
    "head_contains",
    "jsonl_rows_with",
]

PathArg = Union[str, "os.PathLike[str]", None]


def where(path: str | os.PathLike[str]) -> str:
    """Where ``path`` is as the kernel reaches it: absolute, its folder with every link and
    ``..`` resolved, its last part as given (a link there is not followed). Two spellings of
    one file (``x/../T.jsonl`` with ``x`` a link, ``L/T.jsonl`` with ``L`` a link to a
    folder) have one ``where`` (campaign 36: a group's tmp files, locks and journals of one
    target were made in two folders)."""
    text = os.fspath(path)
    head, tail = os.path.split(text)
    if tail in ("", ".", ".."):
        return os.path.realpath(text)
    return os.path.join(os.path.realpath(head or "."), tail)


def _places(path: str | os.PathLike[str]) -> tuple[str, str]:
    """The two keys a checked path is registered under: as written (absolute) and as the
    kernel reaches its folder (:func:`where`). A commit onto it is checked when either
    matches (campaign 38: keyed by ``where`` alone, a folder above the path re-pointed
    mid-run changed the key, and the check at the commit was skipped)."""
    return os.path.abspath(path), where(path)


def _register(registry: dict[str, Any], path: str | os.PathLike[str], value: Any) -> None:
    """Put ``value`` in ``registry`` under both of ``path``'s keys (:func:`_places`)."""
    for key in _places(path):
        registry[key] = value


def _first(registry: dict[str, Any], path: str | os.PathLike[str]) -> Any:
    for key in _places(path):
        if key in registry:
            return registry[key]
    return None


def _key(path: PathArg) -> tuple:
    real = os.path.realpath(os.fspath(path))  # type: ignore[arg-type]
    try:
        st = os.stat(real)
    except OSError:
        return ("path", real)
    return ("inode", st.st_dev, st.st_ino)


def distinct_paths(*named: tuple[str, PathArg]) -> None:
    """Refuse any two of ``(label, path)`` that are one file; ``None`` paths are skipped.
    Each is remembered, so a link put at an output later is never followed to one of
    them (:func:`check_write_through`)."""
    seen: dict[tuple, tuple[str, str | os.PathLike[str]]] = {}
    for label, path in named:
        if path is None:
            continue
        key = _key(path)
        _NAMED[key] = (label, frozenset({os.path.abspath(path), os.path.realpath(path)}))
        if key in seen:
            other, other_path = seen[key]
            same = f"{other_path}" if os.fspath(other_path) == os.fspath(path) else f"{other_path} and {path}"
            raise UsageError(
                f"{other} and {label} are the same file ({same}); nothing was written: give {label} a path of its own"
            )
        seen[key] = (label, path)


#: every path a command named (its inputs and outputs), by file -> (its flag, the path as
#: written and as it resolved, absolute)
_NAMED: dict[tuple, tuple[str, frozenset[str]]] = {}


#: folders a command reads whole (a model's), by real path -> what they are
_NAMED_FOLDERS: dict[str, str] = {}


def name_input_folder(folder: str | os.PathLike[str], what: str) -> None:
    """Remember a folder the command reads (a model's files): no output of the command may
    be written into it, through a link put at the output meanwhile either
    (:func:`check_write_through`; campaign 38: a link to the model's ``config.json`` put at
    ``generate -o`` mid-run had the model's config replaced)."""
    _NAMED_FOLDERS[os.path.realpath(folder)] = what


def check_write_through(target: str | os.PathLike[str]) -> None:
    """``target`` (an output about to be written, as the writer holds it: the path given,
    or the file a link given there led to) may not now be another path the command named:
    a link put at the output, or at a folder above it, while the command ran would have it
    written onto one of its inputs (campaign 37: `V.jsonl -> in.jsonl` put at split's
    ``--val-out`` replaced the input; campaign 38: the output folder re-pointed at the
    input's folder). The same paths given up front are refused by :func:`distinct_paths`."""
    real = os.path.realpath(target)
    for folder, what in _NAMED_FOLDERS.items():
        if real == folder or real.startswith(folder.rstrip(os.sep) + os.sep):
            raise UsageError(
                f"{os.fspath(target)} is {what} ({real}, through a link); nothing was written there: "
                "remove the link or choose another output"
            )
    key = _key(target)
    named = _NAMED.get(key)
    if named is None or os.path.abspath(target) in named[1]:
        return
    label, places = named
    if not any(_key(p) == key for p in places):  # that path's file is gone: its number reused since
        return
    raise UsageError(
        f"{os.fspath(target)}: leads to {min(places)}, which is this command's {label}; nothing was written "
        "there: remove the link or choose another output"
    )


def check_not_under_file(path: PathArg, flag: str = "") -> None:
    """Refuse a path one of whose folders is a file (``notes.txt/run``): one
    :class:`UsageError` line before any work, not a ``FileExistsError`` from a mkdir."""
    try:
        os.lstat(os.fspath(path))  # type: ignore[arg-type]
    except NotADirectoryError:
        label = f"{flag} " if flag else ""
        raise UsageError(
            f"{label}{os.fspath(path)}: a folder on this path is a file; nothing was written: "  # type: ignore[arg-type]
            "choose another path"
        ) from None
    except OSError:
        return


def check_not_working_folder(folder: PathArg, flag: str, tool: str) -> None:
    """A folder a command replaces whole may not be the current folder or one above it
    (campaign 30: `ba-dataset-tools export -o .` and `ba-lora merge -o ./` in an empty folder
    failed with an internal error, EBUSY, when the finished folder was renamed onto ``.``)."""
    text = os.fspath(folder)  # type: ignore[arg-type]
    try:
        here, target = os.path.realpath(os.getcwd()), os.path.realpath(text)
    except OSError:  # the current folder was removed: nothing to protect
        return
    if here == target or here.startswith(target.rstrip(os.sep) + os.sep):
        raise UsageError(
            f"{flag} {text}: is the current folder (or holds it), and {tool} replaces its output folder whole; "
            f"nothing was written: give a folder of its own (e.g. {flag} {os.path.join(text, 'out')})"
        )


def check_replaceable_folder(
    folder: PathArg,
    *,
    flag: str,
    manifest: str,
    tool: str,
    legacy: frozenset = frozenset(),
    legacy_folders: frozenset = frozenset(),
) -> None:
    """The one rule for an output folder a command replaces whole (an export): it may be
    new, empty, or an earlier output holding only the files its ``manifest`` (a JSON file
    with a ``files`` list) names; ``legacy`` names a set accepted without a manifest (an
    older version's output), ``legacy_folders`` the top-level folders an older manifest
    listed whole (before :func:`folder_files`). Anything else there is the user's,
    :class:`UsageError`: also a folder or a symbolic link at a name the manifest lists as a
    file (no command writes links into these folders)."""
    from pathlib import Path

    path = Path(os.fspath(folder))  # type: ignore[arg-type]
    check_not_under_file(path, flag)
    check_not_working_folder(path, flag, tool)
    # campaign 32: a link put at a new -o mid-run was followed at the commit, and the
    # user's folder it pointed at was replaced unchecked: the write takes only the folder
    # checked here (checked_folder_resolution)
    _register(_FOLDER_RESOLVED, path, os.path.realpath(path))
    if path.is_symlink() and path.is_dir():  # a link to a folder is written through: check the folder
        path = path.resolve()
    # campaign 31: a file the user added inside an earlier export while `export` ran was
    # deleted with the folder; the commit that replaces it checks it again (see _RECHECKS)
    _register(
        _FOLDER_RECHECKS,
        path,
        lambda: check_replaceable_folder(
            path, flag=flag, manifest=manifest, tool=tool, legacy=legacy, legacy_folders=legacy_folders
        ),
    )
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise UsageError(f"{flag} {path}: exists and is not a folder; choose a new folder")
    if not path.is_dir():
        return
    if not any(path.iterdir()):
        return
    listed = _manifest_files(path / manifest)
    ours: set = set(listed) | {manifest} if listed is not None else set()
    if listed is None and legacy and {p.name for p in path.iterdir()} <= legacy:  # an older version's output
        ours = set(legacy)
    others = _not_listed(path, "", ours, legacy_folders)
    if others:
        shown = ", ".join(others[:3]) + (" ..." if len(others) > 3 else "")
        raise UsageError(
            f"{flag} {path}: holds files {tool} did not write ({shown}); it replaces the whole "
            "folder, so move them or choose another folder"
        )


def _manifest_files(manifest: Any) -> list[str] | None:
    import json

    if manifest.is_symlink() or not manifest.is_file():  # a linked manifest may list another folder's files
        return None
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        return None
    return [x for x in listed if isinstance(x, str)] if isinstance(listed, list) else None


def _not_listed(folder: Any, prefix: str, ours: set, legacy_folders: frozenset = frozenset()) -> list[str]:
    """The entries under ``folder`` (paths relative to the top, ``/``-separated) that
    ``ours`` does not name. A listed name is ours when it is a plain file, or a folder that
    an older manifest listed whole (``legacy_folders``); a folder that only holds listed
    paths is looked into, so a file the user added inside a split folder of an export is
    found. A folder or a link at a listed file's name is the user's (campaigns 19 and 20:
    re-exports deleted ``README.md/notes.txt`` and ``Modelfile/notes.txt`` and replaced a
    user's ``README.md`` link)."""
    out: list[str] = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        rel = prefix + entry.name
        link, is_dir = entry.is_symlink(), entry.is_dir(follow_symlinks=False)
        if rel in ours and not link and (not is_dir or rel in legacy_folders):
            continue
        if is_dir and any(p.startswith(rel + "/") for p in ours):
            out += _not_listed(entry.path, rel + "/", ours, legacy_folders)
        else:
            out.append(rel)
    return out


def folder_files(folder: PathArg) -> list[str]:
    """Every file under ``folder``, as sorted ``/``-separated paths relative to it (links
    are files, never followed): the ``files`` list of a manifest that
    :func:`check_replaceable_folder` reads, so a later run finds anything added inside."""
    top = os.fspath(folder)  # type: ignore[arg-type]
    out = []
    for root, dirs, files in os.walk(top):
        rel = os.path.relpath(root, top)
        links = [d for d in dirs if os.path.islink(os.path.join(root, d))]
        dirs[:] = [d for d in dirs if d not in links]
        for name in files + links:
            out.append(name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}")
    return sorted(out)


def check_side_output(path: PathArg, what: str, ours: Any) -> None:
    """The one rule for a side output named after ``-o`` (``REPORT.md`` beside
    ``REPORT.json``, ``OUT.program.json``): it may replace only nothing or a file
    ``ours(path)`` recognises as one this command wrote; any other file there is the user's,
    refused (:class:`UsageError`) before any work, never overwritten."""
    text = os.fspath(path)  # type: ignore[arg-type]
    _register(_RECHECKS, text, lambda seen, written: _check_side_output(text, what, ours, written, seen))
    _check_side_output(text, what, ours, "nothing was written")


def _check_side_output(text: str, what: str, ours: Any, written: str, seen: str | None = None) -> None:
    seen = text if seen is None else seen
    if not os.path.lexists(seen):
        return
    try:
        mine = not os.path.islink(seen) and os.path.isfile(seen) and bool(ours(seen))
    except (OSError, ValueError, UnicodeDecodeError):
        mine = False
    if not mine:
        raise UsageError(
            f"{text} exists and is not {what} (a file of yours?); {written}: move that file away or choose another -o"
        )


def first_line_is(text: str) -> Any:
    """A recogniser for :func:`check_side_output`: the file's first line is ``text``."""

    def check(path: str) -> bool:
        with open(path, encoding="utf-8") as f:
            return f.readline().rstrip("\n") == text

    return check


def json_object_with(*keys: str) -> Any:
    """A recogniser for :func:`check_side_output`: a JSON object holding every one of ``keys``;
    a dotted key (``metadata.dependency_versions.dspy``) names a key of nested objects."""

    def has(data: Any, key: str) -> bool:
        for part in key.split("."):
            if not isinstance(data, dict) or part not in data:
                return False
            data = data[part]
        return True

    def check(path: str) -> bool:
        import json

        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return isinstance(data, dict) and all(has(data, k) for k in keys)

    return check


def jsonl_rows_with(*keys: str, empty: bool = False) -> Any:
    """A recogniser for :func:`check_side_output`: a JSON Lines file of at least one row,
    every row a JSON object holding every one of ``keys`` (an earlier run's scored rows);
    ``empty``: an empty file too, where a run appends its rows to the file it made first and
    a kill before the first row leaves it empty (campaign 43: every rerun of a benchmark
    killed so was refused)."""

    def check(path: str) -> bool:
        import json

        rows = 0
        with open(path, "rb") as f:
            for raw in f:
                if not raw.strip(JSON_WHITESPACE.encode()):
                    continue
                row = json.loads(raw)
                if not isinstance(row, dict) or not all(k in row for k in keys):
                    return False
                rows += 1
        return rows > 0 or (empty and os.path.getsize(path) == 0)

    return check


def head_contains(marker: bytes, size: int = 8192) -> Any:
    """A recogniser for :func:`check_side_output`: ``marker`` is in the file's first
    ``size`` bytes (the ``<title>`` of an HTML report, the ``Software`` text of a PNG)."""

    def check(path: str) -> bool:
        with open(path, "rb") as f:
            return marker in f.read(size)

    return check


def check_side_folder(path: PathArg, what: str) -> None:
    """A folder a command fills beside its ``-o`` (``REPORT.predictions/``,
    ``OUT_DIR/scored/``) may be missing or a real folder; a symbolic link (its files would be
    written into the folder it points at) or a file there is refused before any work."""
    text = os.fspath(path)  # type: ignore[arg-type]
    # campaign 31: a link put at compare's DIR/scored mid-run was written through
    _register(_FOLDER_RECHECKS, text, lambda: check_side_folder(text, what))
    if os.path.lexists(text) and (os.path.islink(text) or not os.path.isdir(text)):
        kind = "a symbolic link" if os.path.islink(text) else "not a folder"
        raise UsageError(
            f"{text!r}: is {kind}, and it is where {what} goes; nothing was written: move it away or choose another -o"
        )


def default_rejects(out: str | os.PathLike[str], rejects: PathArg = None) -> str:
    """The one rejects-path rule: ``rejects`` when the user named it, else ``OUT`` with
    ``.rejects.jsonl`` in place of ``.jsonl`` (``raw.jsonl`` -> ``raw.rejects.jsonl``), and
    for an ``OUT`` of another name, ``OUT.rejected.jsonl``: each output has its own (campaign
    31: ``-o F`` and ``-o F.jsonl`` both took ``F.rejects.jsonl``, and the second run replaced
    the first one's rejects, exit 0).

    A path the user did not name may only replace a rejects file (an earlier run's: every
    line a JSON object with a ``reason``) or nothing; a file of anything else there is the
    user's, and is refused (:class:`UsageError`) before any work, never overwritten."""
    if rejects is not None:
        return os.fspath(rejects)
    text = os.fspath(out)
    path = text[: -len(".jsonl")] + ".rejects.jsonl" if text.endswith(".jsonl") else text + ".rejected.jsonl"
    check_unnamed_rejects(path)
    _register(_RECHECKS, path, lambda seen, written: check_unnamed_rejects(path, written, seen=seen))
    return path


#: the paths this process checked up front as an unnamed rejects path or a side output,
#: with the check: every commit onto one runs it again under the output's lock (campaign
#: 29: a file of the user's copied to an unnamed rejects path while `fix` ran was emptied;
#: campaign 30: one copied to `compare`'s `DIR/comparison.md` or `benchmark`'s `REPORT.md`
#: while they ran was replaced). Each check is called as ``check(seen, written)``: ``seen`` is the path of the file to
#: inspect (the target, or what a checked rename moved out of it: ``jsonio.rename_rechecked``),
#: ``written`` what the error says about the outputs.
_RECHECKS: dict[str, Callable[[str, str], None]] = {}
#: likewise for folders: one a command replaces whole (``check_replaceable_folder``) and one
#: it fills beside its ``-o`` (``check_side_folder``), checked again at a commit onto the
#: folder or into it
_FOLDER_RECHECKS: dict[str, Callable[[], None]] = {}


#: a folder a command replaces whole, as given (absolute) -> the folder it named when it was
#: checked (``os.path.realpath``: through a link there then)
_FOLDER_RESOLVED: dict[str, str] = {}


def check_folder_resolution(target: str | os.PathLike[str]) -> None:
    """For a folder checked by :func:`check_replaceable_folder`: :class:`UsageError` when
    the path now names another folder than the one checked (a link put there, or
    re-pointed, while the command ran), so a write never lands in a folder no one checked."""
    checked = _first(_FOLDER_RESOLVED, target)
    if checked is None:
        return
    now = os.path.realpath(target)
    if now != checked:
        raise UsageError(
            f"{os.fspath(target)}: changed while the command ran (it now leads to {now}, which was not "
            "checked); nothing was written there: check it, then run the command again"
        )


#: a folder a long command writes into and removes files in (``ba-lora train``'s ``--output``),
#: as given (absolute) -> the folder it led to when the command began
_PINNED: dict[str, str] = {}


def pin_folder(folder: str | os.PathLike[str], *, again: bool = False) -> None:
    """Remember where ``folder`` leads now (the first time; ``again`` for a new run in this
    process); every commit into it (:func:`recheck_at_commit`), and every write or removal
    its command checks with :func:`check_pinned_folder`, refuses once it leads elsewhere."""
    key = _as_written(folder)
    if again or key not in _PINNED:
        _PINNED[key] = os.path.realpath(key)


def _as_written(path: str | os.PathLike[str]) -> str:
    """``path`` made absolute as the kernel follows it: ``..`` is kept, as it goes up from
    where a link before it led (``os.path.abspath`` drops ``latest/..`` as text: campaign 40,
    a pin of `latest/../r3/A` looked at `r3/A`); repeated and trailing separators and ``.``
    parts go, as pathlib drops them."""
    from pathlib import Path

    return str(Path(os.getcwd(), os.fspath(path)))


def check_pinned_folder(
    path: str | os.PathLike[str], remedy: str = "point it back, then run the command again"
) -> None:
    """:class:`UsageError` when ``path`` lies in a folder :func:`pin_folder` pinned that now
    leads to another folder than when the command began (campaign 39: `ba-lora train -o
    out/A` with `out` a link re-pointed mid-run at a folder holding an earlier run's `A`:
    the run wrote its adapter there and removed that run's log, exit 0)."""
    here = _as_written(path)
    for folder, real in _PINNED.items():
        if here == folder or here.startswith(folder.rstrip(os.sep) + os.sep):
            now = os.path.realpath(folder)
            if now != real:
                raise UsageError(
                    f"{folder}: now leads to {now}, not to {real} where this run began (a link above it "
                    f"re-pointed?); the run stopped and wrote nothing there: {remedy}"
                )


#: everything a command registers about the paths it names and checks
_REGISTRIES: tuple[dict[Any, Any], ...] = (
    _NAMED,
    _NAMED_FOLDERS,
    _RECHECKS,
    _FOLDER_RECHECKS,
    _FOLDER_RESOLVED,
    _PINNED,
)


@contextlib.contextmanager
def command_scope() -> Iterator[None]:
    """What a command registers about its paths (the inputs it names, the folders it reads,
    pins or checks, the paths it checks again at their commit) lasts while it runs: a later
    command in the same process (a test, a notebook, ``run_cli`` called twice) starts from
    what was registered before this one, and is never refused by its checks. ``run_cli``
    runs every command in one."""
    saved = [dict(r) for r in _REGISTRIES]
    try:
        yield
    finally:
        for registry, before in zip(_REGISTRIES, saved):
            registry.clear()
            registry.update(before)


def recheck_at_commit(target: str | os.PathLike[str], written: str = "nothing was written there") -> None:
    """Before a commit onto ``target``: when it is a path this process checked up front
    (an unnamed rejects path, a side output, a folder it replaces), or lies in a side
    folder it checked, or lies in a folder it pinned (:func:`pin_folder`), check it again."""
    check_write_through(target)
    check_pinned_folder(target)
    check = _first(_RECHECKS, target)
    if check is not None:
        check(os.fspath(target), written)
    # the folder as named: a link put at it is not followed here, its check refuses it
    folder = os.path.dirname(os.fspath(target)) or "."
    for folder_check in (_first(_FOLDER_RECHECKS, target), _first(_FOLDER_RECHECKS, folder)):
        if folder_check is not None:
            folder_check()


def commit_check(target: str | os.PathLike[str]) -> Callable[[str, str], None] | None:
    """The check :func:`recheck_at_commit` runs for the file path ``target`` (called as
    ``check(seen, written)``: see ``_RECHECKS``), or None when nothing was registered there."""
    return _first(_RECHECKS, target)


def is_rechecked(target: str | os.PathLike[str]) -> bool:
    """``target`` is checked again at its commit: a link put there is refused by that check,
    so a writer must not follow it to the file it points at (campaign 30: `fix` wrote its
    rejects through a link put at `OUT.rejects.jsonl` mid-run, emptying the user's file)."""
    return _first(_RECHECKS, target) is not None


def check_unnamed_rejects(
    path: str | os.PathLike[str], written: str = "nothing was written", *, seen: str | None = None
) -> None:
    """The rule of :func:`default_rejects` for a rejects path the user did not name: nothing
    there or a rejects file, else :class:`UsageError`. A command that runs long checks it
    again just before it renames its rejects there (campaign 28: a file of the user's put
    there mid-run was replaced). ``seen``: the file to inspect when it is not at ``path``
    (what a checked rename moved out of it)."""
    seen = os.fspath(path) if seen is None else seen
    if os.path.lexists(seen) and not _is_rejects_file(seen):
        raise UsageError(
            f"{os.fspath(path)} exists and is not a rejects file (a file of yours?); {written}: "
            "name the rejects file with --rejects, or move that file away"
        )


def _is_rejects_file(path: str) -> bool:
    import json

    if os.path.islink(path) or not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as f:
            for raw in f:
                if not raw.strip(JSON_WHITESPACE.encode()):
                    continue
                row = json.loads(raw)
                if not isinstance(row, dict) or "reason" not in row:
                    return False
    except (OSError, ValueError, RecursionError):
        return False
    return True
