"""A group's commit journal: the files of one command appear together, even across a kill.

An :func:`~ba_io.output_group` renames its tmp files onto their targets one by one. A kill
between two renames (campaign 34: `split` killed after `V.jsonl` and before `T.jsonl`) left
the new file of one target beside the earlier file of another, rows in neither. So before
its first rename a group of two or more files writes a journal beside each target,
``NAME.ba-io-commit``: its writer's pid and, for every target (named relative to the
journal's folder, so a folder moved whole keeps its journals right), the identity (device,
inode, time, size) of the new file and of the file it replaces. A rename keeps a file's
identity, so the journal tells where each file is whatever instant the kill came at; what a target replaces
waits under the writer's own name (``NAME.ba-io-<pid>.<random>.old`` or ``.swap``) until the
last target is in place, and the journals are removed when the group is done.

The next ba-io command that reads or writes any of those targets, finding a journal, takes
the locks of every target in it (so a live commit is waited out, never undone) and then:

* every target holds its new file: the group was complete; the journal is removed;
* otherwise the group is rolled back: each target gets its earlier file back (a target
  that was new is removed), as a command that was killed leaves its outputs;
* where an earlier file is gone (a file system without ``renameat2`` replaces in place),
  the group is rolled forward instead: every target gets its new file;
* where neither can be done (a target was changed by hand since), nothing is touched and
  the command stops with one error naming the journal;
* where a partner's journal is missing (a kill between two journal writes, or two
  removals: nothing had moved yet, or everything had), only this file's own leftovers
  are settled; no file moves on a journal its partners do not confirm.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError
from .paths import where

__all__ = ["JOURNAL_SUFFIX", "journal_path", "recover_commit", "group_journal", "group_is_whole"]

#: a journal's name beside its target: ``NAME.ba-io-commit``
JOURNAL_SUFFIX = ".ba-io-commit"
_MARK = "ba-io commit journal"

#: a file's identity: (st_dev, st_ino, st_mtime_ns, st_size), which a rename keeps; the
#: time and size tell a file written later at a freed inode number from the one recorded
Ident = tuple[int, int, int, int]


def journal_path(target: str | os.PathLike[str]) -> Path:
    t = Path(target)
    return t.with_name(t.name + JOURNAL_SUFFIX)


def _ident(path: Path) -> Ident | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def _entry_text(target: Path, folder: Path, new: Ident, old: Ident | None) -> dict[str, Any]:
    """One target as a journal in ``folder`` names it: relative to that folder (so a folder
    moved whole after a kill keeps its journals right: campaign 35), its bytes in hex."""
    rel = os.path.relpath(where(target), os.path.realpath(folder))
    return {"target": os.fsencode(rel).hex(), "new": list(new), "old": None if old is None else list(old)}


@dataclass(frozen=True)
class _Journal:
    """A journal as read: its writer's pid and, per target, (absolute path, new, old)."""

    pid: int
    entries: tuple[tuple[str, Ident, Ident | None], ...]
    made: tuple[str, ...]  # the folders the group created (absolute)
    text: str

    def same_group(self, other: _Journal | None) -> bool:
        return other is not None and (other.pid, other.entries, other.made) == (self.pid, self.entries, self.made)


@dataclass
class GroupJournal:
    """What :func:`group_journal` yields: set ``keep`` when the block leaves the group half
    replaced (a failed rename whose undo failed too), so its journals stay for the next run."""

    keep: bool = False


@contextlib.contextmanager
def group_journal(pairs: list[tuple[Path, Path]], made: list[Path] | None = None) -> Iterator[GroupJournal]:
    """Hold a journal of ``pairs`` (tmp, target) beside every target while the block renames
    them (nothing for a group of one file: its one rename is atomic). The caller holds
    every target's lock and has checked every target; ``made`` are the folders the group
    created, removed again (when empty) if the group is rolled back. The journals are
    removed when the block ends, unless it set ``keep`` (the group is still half replaced)."""
    state = GroupJournal()
    if len(pairs) < 2:
        yield state
        return
    from .jsonio import _fsync_dir

    idents = []
    for tmp, target in pairs:
        new = _ident(tmp)
        if new is None:
            raise FileNotFoundError(f"cannot write {target}: its tmp file {tmp} is gone")
        idents.append((target, new, _ident(target)))
    written: dict[Path, str] = {}
    try:
        for _, target in pairs:
            path = journal_path(target)
            entries = [_entry_text(t, path.parent, new, old) for t, new, old in idents]
            folders = [os.fsencode(os.path.relpath(where(f), os.path.realpath(path.parent))).hex() for f in made or []]
            record = {_MARK: 1, "pid": os.getpid(), "entries": entries, "made": folders}
            text = json.dumps(record, separators=(",", ":")) + "\n"
            _write_journal(path, text)
            written[path] = text
        for folder in {target.parent for _, target in pairs}:
            _fsync_dir(folder)
        yield state
    finally:
        for path, text in written.items():
            if not state.keep:
                _remove_if_ours(path, text)


def _write_journal(path: Path, text: str) -> None:
    """Write ``path`` only while nothing is there (a file of the user's by that name stops
    the commit before any target is touched)."""
    from .jsonio import _rename_noreplace, _tmp_prefix, sweep_stale_tmp

    sweep_stale_tmp(path)  # a journal's tmp file a kill left while it was written
    fd, name = tempfile.mkstemp(prefix=_tmp_prefix(path), suffix=".tmp", dir=os.path.realpath(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        placed = _rename_noreplace(Path(name), path)
        if placed is None:  # neither renameat2 nor hard links here
            if os.path.lexists(path):
                placed = False
            else:
                os.replace(name, path)
                placed = True
        if not placed:
            raise UsageError(
                f"{path}: exists and is not this run's commit journal; nothing was written: move it away and run again"
            )
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def _remove_if_ours(path: Path, text: str) -> None:
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") == text:
            path.unlink()


def _read(path: Path) -> _Journal | None:
    """The journal at ``path``, or None when there is none (or the file there is not one)."""
    try:
        if os.path.islink(path) or not path.is_file() or path.stat().st_size > 1 << 20:
            return None
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
        if not isinstance(data, dict) or data.get(_MARK) != 1:
            return None
        folder = os.path.realpath(path.parent)
        entries = []
        for e in data["entries"]:
            rel = os.fsdecode(bytes.fromhex(e["target"]))
            new, old = e["new"], e["old"]
            if not all(x is None or (isinstance(x, list) and len(x) == 4) for x in (new, old)) or new is None:
                return None
            ident = tuple(int(x) for x in new)
            entries.append(
                (os.path.abspath(os.path.join(folder, rel)), ident, None if old is None else tuple(int(x) for x in old))
            )
        made = tuple(os.path.abspath(os.path.join(folder, os.fsdecode(bytes.fromhex(h)))) for h in data.get("made", []))
        return _Journal(int(data["pid"]), tuple(entries), made, text)  # type: ignore[arg-type]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def recover_commit(target: str | os.PathLike[str]) -> None:
    """Finish what a group killed mid-commit left at ``target`` and the targets it was
    written with (see the module's docstring); a no-op (one ``lstat``) when no journal is there."""
    path = journal_path(target)
    if not os.path.lexists(path) or _read(path) is None:
        return
    from .jsonio import COMMIT_WAIT_S
    from .locking import output_lock

    journal = _read(path)
    if journal is None:
        return
    with contextlib.ExitStack() as locks:
        for name in sorted({t for t, _, _ in journal.entries}):
            locks.enter_context(output_lock(name, wait_s=COMMIT_WAIT_S, reentrant=True))
        journal = _read(path)  # the commit we waited for may have finished
        if journal is None:
            return
        folders = _recover(journal, path)
    from .jsonio import _remove_empty

    _remove_empty(folders)  # once the locks (files in them) are gone


def group_is_whole(target: str | os.PathLike[str]) -> bool:
    """Whether the files a journal at ``target`` names all hold one run's files (every new
    file, or every earlier one), read without a lock: a reader that cannot put a journal
    away (a read-only folder) still reads a group that needs nothing moved (campaign 35)."""
    journal = _read(journal_path(target))
    if journal is None:
        return True
    entries = [_Entry(t, new, old, journal.pid) for t, new, old in journal.entries]
    return all(e.holds(e.new) for e in entries) or all(e.holds(e.old) for e in entries)


class _Entry:
    def __init__(self, target: str, new: Ident, old: Ident | None, pid: int) -> None:
        self.target = Path(target)
        self.new, self.old = new, old
        prefix = f"{self.target.name}.ba-io-{pid}."
        try:
            names = [n for n in os.listdir(self.target.parent) if n.startswith(prefix)]
        except OSError:
            names = []
        self.leftovers = {_ident(self.target.parent / n): self.target.parent / n for n in names}
        self.leftovers.pop(None, None)
        self.at_target = _ident(self.target)

    def holds(self, ident: Ident | None) -> bool:
        return self.at_target == ident

    def can_roll_back(self) -> bool:
        if self.holds(self.old):
            return True
        return self.holds(self.new) and (self.old is None or self.old in self.leftovers)

    def can_roll_forward(self) -> bool:
        return self.holds(self.new) or (self.holds(self.old) and self.new in self.leftovers)


def _recover(journal: _Journal, path: Path) -> list[Path]:
    """Put the group right; return the folders it created, to remove when empty (a roll-back)."""
    entries = [_Entry(t, new, old, journal.pid) for t, new, old in journal.entries]
    here = os.path.realpath(path.with_name(path.name[: -len(JOURNAL_SUFFIX)]))
    mine = [e for e in entries if os.path.realpath(e.target) == here]
    if not mine:
        raise UsageError(f"{path}: a commit journal that does not name the file beside it; remove it")
    if all(e.holds(e.new) for e in entries) or all(e.holds(e.old) for e in entries):
        return _settle(entries, "new" if entries[0].holds(entries[0].new) else "old", journal, path)
    elif not all(journal.same_group(_read(journal_path(e.target))) for e in entries):
        return _settle_alone(mine[0], entries, journal, path)
    elif all(e.can_roll_back() for e in entries):
        return _settle(entries, "old", journal, path)
    elif all(e.can_roll_forward() for e in entries):
        return _settle(entries, "new", journal, path)
    else:
        changed = ", ".join(str(e.target) for e in entries if not (e.can_roll_back() or e.can_roll_forward()))
        raise UsageError(
            f"{path}: a run killed while it replaced {', '.join(str(e.target) for e in entries)} left them "
            f"half-replaced, and {changed} changed since; nothing was touched: check those files, then remove "
            f"{', '.join(str(journal_path(e.target)) for e in entries)}"
        )


def _settle_alone(me: _Entry, entries: list[_Entry], journal: _Journal, path: Path) -> list[Path]:
    """A partner's journal is missing. Every journal of a group is written before its first
    rename and removed after its last, so the kill came before any file moved or after all
    had (campaign 35: a kill between two journal removals, then the partner rewritten
    alone, had every later read refused): this target's own leftovers are settled and its
    journal removed; nothing moves, and nothing this journal names elsewhere is touched (a
    journal copied or made by hand never moves or removes a file). A group whose files are
    still half new, half earlier (a journal removed by hand mid-way) is refused instead."""
    states = {"new" if e.holds(e.new) else "old" for e in entries if e.holds(e.new) or e.holds(e.old)}
    # a partner that is gone (moved with its folder: campaign 36) may be the earlier file:
    # only one rewritten since (there, but neither file) tells a finished group
    gone = any(e.at_target is None and e.old is not None for e in entries if e is not me)
    # a group keeps each earlier file until its last rename and discards them before its
    # journals go: this file new beside its kept earlier one never finished (campaign 37: a
    # partner's folder moved and a new file put at its path looked rewritten since)
    unfinished = me.holds(me.new) and me.old is not None and me.old in me.leftovers
    if len(states) > 1 or gone or unfinished or not (me.holds(me.new) or me.holds(me.old)):
        missing = ", ".join(
            str(journal_path(e.target)) for e in entries if not journal.same_group(_read(journal_path(e.target)))
        )
        raise UsageError(
            f"{path}: {', '.join(str(e.target) for e in entries)} were left half-replaced by a run that was "
            f"killed, and {missing} is gone; nothing was touched: check them, then remove {path.name}"
        )
    return _settle([me], "new" if me.holds(me.new) else "old", journal, path, alone=True)


def _settle(entries: list[_Entry], keep: str, journal: _Journal, path: Path, alone: bool = False) -> list[Path]:
    """Give each target its ``keep`` ("new" or "old") file, discard what the group wrote or
    replaced that no target keeps, and remove the journals; return the folders the group
    created when it is rolled back (campaign 35: `compare -o NEW` rolled back left NEW/)."""
    from .jsonio import _discard, _fsync_dir

    for e in entries:
        _put(e, e.new if keep == "new" else e.old, path)
    for e in entries:
        for ident, leftover in e.leftovers.items():
            if ident in (e.new, e.old):
                _discard(leftover)
    for e in entries:
        _fsync_dir(e.target.parent)
    confirmed = not alone and all(journal.same_group(_read(journal_path(e.target))) for e in entries)
    for e in entries:
        other = _read(journal_path(e.target))
        if journal.same_group(other) and other is not None:
            _remove_if_ours(journal_path(e.target), other.text)
    return [Path(f) for f in journal.made] if keep == "old" and confirmed else []


def _put(e: _Entry, want: Ident | None, path: Path) -> None:
    """Put the file ``want`` (None: no file) at ``e.target``, from where the journal's writer left it."""
    from .jsonio import _exchange_existing, _move_to_own_name, _rename_noreplace

    if e.holds(want):
        return
    if want is None:  # roll back a target that was new: ours goes to a name of our own
        gone = _move_to_own_name(e.target, e.target, ".old")
        e.leftovers[_ident(gone)] = gone
        return
    source = e.leftovers.pop(want)
    if e.at_target is None:
        placed = _rename_noreplace(source, e.target)
        if placed is None:  # neither renameat2 nor hard links here
            os.replace(source, e.target)
        elif not placed:
            raise UsageError(f"{e.target}: was put there while it was restored; {path} is kept: run again")
    elif _exchange_existing(source, e.target):
        e.leftovers[_ident(source)] = source
    else:
        os.replace(source, e.target)
