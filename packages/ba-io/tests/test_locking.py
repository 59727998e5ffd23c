"""#17.1: one run per output; a second one fails at once and names the lock."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from ba_io import UsageError, output_lock
from ba_io.locking import lock_path


def test_a_second_holder_is_refused_and_the_lock_goes_with_the_run(tmp_path):
    out = tmp_path / "out.jsonl"
    with output_lock(out) as path:
        assert path == lock_path(out) and path.read_text().split() == ["ba-io-lock", str(os.getpid())]
        with pytest.raises(UsageError, match=rf"^{out}: another run is writing it \(pid {os.getpid()}\), locked in "):
            with output_lock(out):
                pass
    assert not lock_path(out).exists()
    with output_lock(out):  # free again
        pass


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    out = tmp_path / "out.jsonl"
    code = f"import os, sys; from ba_io import output_lock\nwith output_lock({str(out)!r}): os.kill(os.getpid(), 9)"
    res = subprocess.run([sys.executable, "-c", code])
    assert res.returncode == -9 and lock_path(out).exists()  # left behind, but no longer locked
    with output_lock(out):
        pass
    assert not lock_path(out).exists()


def test_a_file_of_the_users_at_the_lock_path_is_refused_and_kept(tmp_path):
    """Campaign 3: `--in P.jsonl.lock --out P.jsonl` took the user's file as the lock,
    truncated it to a pid and deleted it at the end."""
    from ba_io import UsageError, output_lock

    out = tmp_path / "p.jsonl"
    user = tmp_path / "p.jsonl.lock"
    user.write_text('{"id": "c1", "concept": "A bakery."}\n')
    with pytest.raises(UsageError, match="exists and is not a lock"):
        with output_lock(out):
            pass
    assert user.read_text() == '{"id": "c1", "concept": "A bakery."}\n'
    # campaign 4: a user's file holding only a number was taken for a lock
    user.write_text("20260101\n")
    with pytest.raises(UsageError, match="exists and is not a lock"):
        with output_lock(out):
            pass
    assert user.read_text() == "20260101\n"
    # campaign 5: a user's empty file was taken for a lock and deleted; a lock file is
    # never empty now (it is linked into place with its tag), so an empty one is the user's
    user.write_text("")
    with pytest.raises(UsageError, match="exists and is not a lock"):
        with output_lock(out):
            pass
    assert user.exists() and user.read_bytes() == b""
    # a dead run's lock line is a lock: taken over
    user.write_text("ba-io-lock 12345\n")
    with output_lock(out):
        assert user.read_bytes().startswith(b"ba-io-lock") and str(os.getpid()).encode() in user.read_bytes()
    assert not user.exists()


def test_a_lock_file_is_never_seen_empty(tmp_path):
    """The lock file is created with its tag in one step (hard link of a written file),
    and re-tagged in place with a line of the same length: a second run checking it at
    any instant sees a tag, never an empty file it would take for the user's."""
    from ba_io import output_lock
    from ba_io.locking import lock_path

    out = tmp_path / "p.jsonl"
    with output_lock(out):
        text = lock_path(out).read_bytes()
        assert text.startswith(b"ba-io-lock ") and text.split()[1] == str(os.getpid()).encode()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["p.jsonl.lock"]  # no tmp file left
    assert list(tmp_path.iterdir()) == []


def test_a_run_that_wrote_nothing_leaves_no_folder_it_made(tmp_path):
    """Campaign 14: ``ba-eval benchmark`` left an empty predictions folder when the model
    failed to load; the lock made the folders and nothing removed them."""
    out = tmp_path / "new" / "deeper" / "out.jsonl"
    with pytest.raises(RuntimeError), output_lock(out):
        raise RuntimeError("the model failed to load")
    assert not (tmp_path / "new").exists()
    with output_lock(out):
        out.write_text("rows\n")
    assert out.read_text() == "rows\n" and not lock_path(out).exists()  # a written output keeps its folders
    (tmp_path / "mine").mkdir()
    with output_lock(tmp_path / "mine" / "out.jsonl"):
        pass
    assert (tmp_path / "mine").is_dir()  # a folder that was there stays, empty or not
    # campaign 34: `generate -o x/../P.jsonl`, refused, left the empty x/ its lock had made
    with pytest.raises(RuntimeError), output_lock(tmp_path / "x" / ".." / "P.jsonl"):
        raise RuntimeError("refused")
    assert not (tmp_path / "x").exists()


def test_the_lock_of_dot_is_the_folders_own(tmp_path, monkeypatch):
    """Campaign 15: `ba-lora train -o .` failed with "PosixPath('.') has an empty name"."""
    monkeypatch.chdir(tmp_path)
    assert lock_path(".") == tmp_path.parent / (tmp_path.name + ".lock")
    with output_lock(".") as path:
        assert path.is_file()
    assert not path.exists()


def test_a_file_put_at_a_held_lock_path_is_not_removed_with_the_lock(tmp_path):
    """Campaign 26: `ba-io validate -o s.jsonl.lock` while synth held s.jsonl's lock
    replaced the lock file by its output, and synth's release deleted that output."""
    out = tmp_path / "s.jsonl"
    with output_lock(out) as path:
        users = tmp_path / "users.jsonl"
        users.write_text('{"a": 1}\n')
        os.replace(users, path)  # another command's commit over the lock's name
    assert path.read_text() == '{"a": 1}\n'


def test_a_lock_file_is_refused_as_an_output(tmp_path):
    """Campaign 26: a group output named like another output's lock (`split --val-out
    t.jsonl.lock`) replaced the lock and was deleted with it; an output over a running
    run's lock file (`validate -o s.jsonl.lock`) broke that run's lock."""
    from ba_io import output_group
    from ba_io.jsonio import atomic_write

    train = tmp_path / "t.jsonl"
    with pytest.raises(UsageError, match=r"t\.jsonl\.lock: is the lock file of t\.jsonl"):
        with output_group():
            with atomic_write(train) as f:
                f.write("train\n")
            with atomic_write(lock_path(train)) as f:
                f.write("val\n")
    assert not train.exists() and not lock_path(train).exists()
    assert not [p for p in tmp_path.iterdir()], list(tmp_path.iterdir())
    with output_lock(tmp_path / "s.jsonl") as held:
        with pytest.raises(UsageError, match=r"s\.jsonl\.lock: is the lock file of s\.jsonl"):
            with atomic_write(held) as f:
                f.write("x\n")
        assert held.read_text().split() == ["ba-io-lock", str(os.getpid())]


def test_a_folder_without_hard_links_still_takes_the_lock(tmp_path, monkeypatch):
    """Campaign 26: the lock file is linked into place, and on a FAT or SMB folder (os.link:
    EPERM) every command that writes a group of files exited 2."""
    import errno

    def no_links(src, dst, *args, **kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    out = tmp_path / "out.jsonl"
    with output_lock(out) as path:
        assert path.read_text().split() == ["ba-io-lock", str(os.getpid())]
        with pytest.raises(UsageError, match="another run is writing it"):
            with output_lock(out):
                pass
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_file_written_in_place_at_a_held_lock_path_is_not_removed_with_the_lock(tmp_path):
    """Campaign 27: `ba-metric score X > s.jsonl.lock` while synth held s.jsonl's lock kept
    the lock file's inode, and synth's release deleted the rows written there."""
    out = tmp_path / "s.jsonl"
    with output_lock(out) as path:
        with open(path, "w") as f:  # a shell redirect: same inode, truncated and written
            f.write('{"a": 1}\n')
    assert path.read_text() == '{"a": 1}\n'


def test_a_read_only_folder_is_named_by_the_lock_not_its_temporary_file(tmp_path, monkeypatch):
    """Campaign 27: a read-only folder under a locked output was reported as
    `OUT.lock.XXXXXXXX.new`, a name the user never chose."""
    import errno
    import tempfile

    def refused(*args, **kwargs):
        raise PermissionError(errno.EROFS, "Read-only file system", str(tmp_path / "r.jsonl.lock.ab12cd.new"))

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(OSError) as e:
        with output_lock(tmp_path / "r.jsonl"):
            pass
    assert e.value.filename == str(tmp_path / "r.jsonl.lock") and ".new" not in str(e.value)


def test_the_tmp_file_of_a_lock_a_killed_run_was_making_is_swept(tmp_path):
    """Campaign 30: a kill while a lock file was made left `OUT.lock.XXXXXXXX.new`, which no
    run ever removed; the lock is now made under ba-io's tmp name and a later run sweeps it."""
    out = tmp_path / "out.jsonl"
    dead = tmp_path / "out.jsonl.lock.ba-io-2147483646.abcd1234.tmp"
    dead.write_bytes(b"ba-io-lock")
    os.utime(dead, (time.time() - 3600, time.time() - 3600))
    live = tmp_path / f"out.jsonl.lock.ba-io-{os.getpid()}.abcd1234.tmp"  # a running writer's: kept
    live.write_bytes(b"ba-io-lock")
    with output_lock(out):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name]


def test_a_second_name_of_the_lock_a_killed_run_left_is_removed_by_the_next_run(tmp_path):
    """Campaign 31: a kill between linking OUT.lock into place and removing its tmp name left
    that tmp name, a hard link of the lock, which every later run's tag write kept young."""
    out = tmp_path / "out.jsonl"
    lock = lock_path(out)
    lock.write_bytes(b"ba-io-lock " + b"2147483646".rjust(12) + b"\n")  # a dead run's lock
    second = tmp_path / "out.jsonl.lock.ba-io-2147483646.abcd1234.tmp"
    os.link(lock, second)
    other = tmp_path / "out.jsonl.lock.ba-io-2147483646.efgh5678.tmp"  # not the lock's inode: left to the sweep
    other.write_bytes(b"ba-io-lock")
    with output_lock(out):
        assert not second.exists() and other.exists()
    assert not lock.exists()


def test_a_lock_that_cannot_be_made_where_the_output_is_is_one_usage_error():
    """Campaign 42 (A D1): `ba-lora train -o /proc/self/fd/3` and `synth -o /proc/self/x.jsonl`
    spun at 100 % CPU for good: in /proc the folder is there (mkdir succeeds) but no file can
    be made in it, and every FileNotFoundError was retried. The retries are bounded."""
    with pytest.raises(UsageError, match=r"/proc/self/x.jsonl: its lock file .* cannot be made or kept there"):
        with output_lock("/proc/self/x.jsonl"):
            pass


def test_a_lock_removed_by_its_holder_while_it_is_checked_is_not_a_file_of_yours(tmp_path, monkeypatch):
    """Campaign 43 (B r1): processes taking one output's lock in turn (each waiting for the
    other, as group commits do) were refused "its lock file exists and is not a lock (a file
    of yours?)" when the holder removed the lock between the two reads of the check."""
    from ba_io import locking

    real = locking.is_lock_file
    removed = []

    def removed_while_read(path):
        if not removed:  # the holder finishes right now: its lock file goes
            removed.append(path)
            os.unlink(path)
            return False
        return real(path)

    monkeypatch.setattr(locking, "is_lock_file", removed_while_read)
    with output_lock(tmp_path / "out.jsonl") as path:
        assert locking.is_lock_file(path)
    assert removed
