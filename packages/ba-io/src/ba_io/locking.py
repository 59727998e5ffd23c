"""One run per output: ``output_lock(OUT)`` holds an exclusive ``flock`` on ``OUT.lock``.

A second run on the same output fails at once with :class:`UsageError` (exit 2) instead of
appending to the first run's partial file or renaming its own short file over the
complete one. The lock file is removed (while still locked) when the run ends; a run that
dies leaves it behind unlocked, which the next run takes over (the kernel drops ``flock``
locks with the process). A lock whose file was replaced while we waited is retried, so
two runs can never both hold the lock of one output.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Union

from .errors import UsageError
from .paths import check_not_under_file, where

__all__ = ["output_lock", "lock_path", "is_lock_file"]

PathLike = Union[str, "os.PathLike[str]"]


def lock_path(out: PathLike) -> Path:
    out = Path(out)
    if out.name in ("", ".", ".."):  # `-o .`: the folder's own name (campaign 15: ValueError, empty name)
        out = Path(os.path.abspath(out))
    return out.with_name(out.name + ".lock")


#: the lock files this process holds: an output group committing the output of a command
#: that locked it for its whole run takes it again with ``reentrant=True`` (a no-op)
_HELD: set[str] = set()


#: how many times in a row the lock file (or its folder) may vanish before the lock is refused:
#: each is another run finishing, or removing a folder it made, at that instant
_MAX_VANISHED = 100


@contextlib.contextmanager
def output_lock(out: PathLike, wait_s: float = 0.0, reentrant: bool = False) -> Iterator[Path]:
    """Hold the lock of output ``out`` (a file or directory path) for the ``with`` block.

    Another run holding it is an error at once, or after ``wait_s`` seconds of retrying
    (an output group's commit waits out another commit of the same files). With
    ``reentrant``, a lock this process already holds is taken as held."""
    path = lock_path(out)
    key = where(path)
    if reentrant and key in _HELD:
        yield path
        return
    check_not_under_file(out)
    made = _missing_folders(path.parent)
    deadline = time.monotonic() + wait_s
    vanished = 0  # campaign 42: in /proc the lock file was never made and the loop never ended
    while True:
        if vanished > _MAX_VANISHED:
            raise _lock_not_kept(out, path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _create_lock_file(path)
        except FileNotFoundError:  # another run removed the folder it had made: make it again
            vanished += 1
            continue
        _check_is_a_lock(path, out)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:  # the run holding it just finished and removed it
            vanished += 1
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            if time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise UsageError(
                f"{out}: another run is writing it{f' (pid {holder})' if holder else ''}, "
                f"locked in {path}; wait for it to finish or choose another output"
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the file we locked was removed by the run that just finished: lock the new one
    _HELD.add(key)
    try:
        os.pwrite(fd, _tag_line(), 0)  # same length as any tag line: never seen empty or torn
        _remove_second_names(path, fd)
        yield path
    finally:
        _HELD.discard(key)
        _remove_if_ours(path, fd)
        os.close(fd)
        for folder in made:  # a run that wrote nothing leaves no empty folders behind
            if folder.name == "..":  # `-o x/../P`: x is made, `x/..` is a folder above it
                continue
            try:
                folder.rmdir()
            except OSError:
                break


def _lock_not_kept(out: PathLike, path: Path) -> UsageError:
    return UsageError(
        f"{out}: its lock file {path} cannot be made or kept there (the folder does not keep new files: "
        "/proc, a folder removed again and again); nothing was written: choose another output"
    )


def _remove_second_names(path: Path, fd: int) -> None:
    """Remove the tmp names of the lock file we now hold that a run killed between linking
    the lock into place and removing its tmp name left (campaign 31: each later run's tag
    write kept ``OUT.lock.ba-io-PID.RANDOM.tmp`` younger than the sweep's minute)."""
    from .jsonio import _TMP_TAG, is_tmp_name

    try:
        names = [n for n in os.listdir(path.parent) if is_tmp_name(path, n) and f".{_TMP_TAG}{os.getpid()}." not in n]
        ours = os.fstat(fd)
    except OSError:
        return
    for name in names:
        with contextlib.suppress(OSError):
            if os.path.samestat(os.lstat(path.parent / name), ours):
                os.unlink(path.parent / name)


def _remove_if_ours(path: Path, fd: int) -> None:
    """Remove the lock file ``fd`` holds, and only while it still holds our tag: campaign
    26, another command's output committed over ``OUT.lock`` was deleted with the lock;
    campaign 27, one written in place (`> OUT.lock`) kept the inode and was deleted too."""
    try:
        tag = _tag_line()
        if os.path.samestat(os.lstat(path), os.fstat(fd)) and os.pread(fd, len(tag) + 1, 0) == tag:
            os.unlink(path)
    except OSError:
        pass


def is_lock_file(path: PathLike) -> bool:
    """``path`` is a lock file of ours (``ba-io-lock PID``, held or left by a dead run)."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > 64:
            return False
        with open(path, "rb") as f:
            text = f.read(65).strip()
    except OSError:
        return False
    return text.startswith(_TAG) and text[len(_TAG) :].strip().isdigit()


def _missing_folders(folder: Path) -> list[Path]:
    """The folders of ``folder``'s path that do not exist yet, deepest first."""
    missing = []
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


#: a lock file holds ``ba-io-lock PID`` from the instant it exists: a file of the user's
#: (empty ones too) is never taken for one
_TAG = b"ba-io-lock"


def _create_lock_file(path: Path) -> None:
    """Create ``path`` holding the tag, or leave whatever is there: the tagged file is
    written aside and hard-linked into place, so a lock file is never seen empty."""
    if os.path.lexists(path):
        return
    from .jsonio import _tmp_prefix, sweep_stale_tmp

    # ba-io's tmp name (`OUT.lock.ba-io-PID.RANDOM.tmp`): one a kill leaves is known for a
    # leftover and swept here by a later run (campaign 30: `OUT.lock.XXXX.new` was never removed)
    sweep_stale_tmp(path)
    try:
        fd, name = tempfile.mkstemp(prefix=_tmp_prefix(path), suffix=".tmp", dir=os.path.realpath(path.parent))
    except OSError as e:  # campaign 27: named the temporary OUT.lock.XXXXXXXX.new
        raise type(e)(e.errno, e.strerror, str(path)) from e
    try:
        try:
            os.write(fd, _tag_line())
            os.fchmod(fd, 0o644)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):
            try:
                os.link(name, path)
            except OSError as e:
                if e.errno not in _NO_HARD_LINKS:
                    raise
                _create_in_place(path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


#: a file system without hard links (FAT, some SMB and FUSE mounts) answers os.link so
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EXDEV, errno.EMLINK})


def _create_in_place(path: Path) -> None:
    """Where hard links are refused (campaign 26: every command writing a group exited 2 on
    a FAT or SMB folder), the lock file is created in place and its tag written at once: a
    run that looks in that instant sees an empty file and is refused, which loses nothing."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, _tag_line())
    finally:
        os.close(fd)


def _tag_line() -> bytes:
    """``ba-io-lock PID``, the pid right-aligned so every tag line has one length."""
    return _TAG + f" {os.getpid():>12}\n".encode()


def _check_is_a_lock(path: Path, out: PathLike) -> None:
    """``OUT.lock`` may be missing or a lock file (``ba-io-lock PID``); any other file
    there, an empty one too, is the user's (``--in OUT.lock``), and taking it as the lock
    would truncate it and delete it at the end."""
    if not os.path.lexists(path) or (not path.is_symlink() and is_lock_file(path)):
        return
    if not os.path.lexists(path):  # campaign 43: removed by its holder while it was read, not a file of yours
        return
    raise UsageError(
        f"{out}: its lock file {path} exists and is not a lock (a file of yours?); nothing was written: "
        "move it away or choose another output"
    )


def _read_pid(fd: int) -> str:
    try:
        return os.pread(fd, 64, 0).decode("ascii", "replace").strip().removeprefix(_TAG.decode()).strip()
    except OSError:
        return ""
