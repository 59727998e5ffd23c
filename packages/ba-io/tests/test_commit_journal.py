"""Campaign 34 (D1): `split` killed between the two renames of its group left the new
``V.jsonl`` beside the earlier ``T.jsonl`` (65 of 300 rows in neither file), and the next
write removed the earlier ``V.jsonl`` it had kept. A group now keeps a journal while it
renames; the next ba-io reader or writer of any of its files puts the group right."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ba_io import UsageError, read_jsonl
from ba_io.commit_journal import JOURNAL_SUFFIX, recover_commit

#: a child that writes train and val in one group and kills itself at one instant of the commit
_CHILD = """
import os, signal, sys
from pathlib import Path
import ba_io.jsonio as jio
from ba_io import atomic_write, output_group

train, val, when = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
train.parent.mkdir(exist_ok=True)  # a group's own new folders: only val's (see the test of folders)
calls = {"place": 0, "exchange": 0}

def die():
    os.kill(os.getpid(), signal.SIGKILL)

real_place, real_all, real_exchange = jio._place, jio._place_all, jio._exchange_existing

def place(tmp, target, *rest):
    calls["place"] += 1
    if (when, calls["place"]) in (("before-first", 1), ("between", 2)):
        die()
    return real_place(tmp, target, *rest)

def exchange(a, b):
    calls["exchange"] += 1
    if when == "mid-exchange" and calls["exchange"] == 2:
        die()  # train moved to its own .old name, not yet exchanged
    return real_exchange(a, b)

def place_all(order, *rest):
    real_all(order, *rest)
    if when == "after-all":
        die()

import ba_io.commit_journal as cj

real_remove = cj._remove_if_ours
removed = []

def remove(path, text):
    if when == "between-removals" and removed:
        die()  # one journal removed, the other not
    removed.append(path)
    return real_remove(path, text)

jio._place, jio._place_all, jio._exchange_existing, cj._remove_if_ours = place, place_all, exchange, remove
with output_group():
    for path in (train, val):
        with atomic_write(path) as f:
            f.write('{"id":"new"}\\n')
"""


def _killed_mid_commit(tmp_path: Path, when: str, *, exchange: bool = True) -> tuple[Path, Path]:
    train, val = tmp_path / "T.jsonl", tmp_path / "V.jsonl"
    env = dict(os.environ)
    if not exchange:
        env["BA_IO_NO_EXCHANGE"] = "1"
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(train), str(val), when], env=env)
    assert proc.returncode == -signal.SIGKILL
    return train, val


def _ids(path: Path) -> list[str]:
    return [row["id"] for row in read_jsonl(path)]


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _old_pair(tmp_path: Path) -> None:
    for name in ("T.jsonl", "V.jsonl"):
        (tmp_path / name).write_text('{"id":"old"}\n')


@pytest.mark.parametrize(
    ("when", "kept"), [("before-first", "old"), ("between", "old"), ("mid-exchange", "old"), ("after-all", "new")]
)
def test_a_reader_after_a_kill_mid_commit_sees_one_runs_files(tmp_path, when, kept):
    _old_pair(tmp_path)
    train, val = _killed_mid_commit(tmp_path, when)
    assert (tmp_path / ("V.jsonl" + JOURNAL_SUFFIX)).exists()  # the kill left its journal
    if when == "between":  # the mix campaign 34 found
        assert (train.read_text(), val.read_text()) == ('{"id":"old"}\n', '{"id":"new"}\n')
    assert _ids(val) == _ids(train) == [kept]  # the first read puts the group right
    assert _names(tmp_path) == ["T.jsonl", "V.jsonl"]  # no journal, no earlier file left over


def test_the_next_write_after_a_kill_mid_commit_keeps_no_mix(tmp_path):
    from ba_io import atomic_write, output_group

    _old_pair(tmp_path)
    train, val = _killed_mid_commit(tmp_path, "between")
    with output_group():  # the next run writes only val
        with atomic_write(val) as f:
            f.write('{"id":"third"}\n')
    assert (_ids(train), _ids(val)) == (["old"], ["third"])
    assert _names(tmp_path) == ["T.jsonl", "V.jsonl"]


def test_a_group_of_new_files_killed_mid_commit_leaves_neither(tmp_path):
    train, val = _killed_mid_commit(tmp_path, "between")
    assert val.exists() and not train.exists()
    with pytest.raises(UsageError, match="input file not found"):
        read_jsonl(val)
    assert _names(tmp_path) == []


def test_without_the_exchange_the_group_is_rolled_forward(tmp_path):
    """Where a rename replaces in place (no renameat2), the earlier file is gone once its
    target is replaced: the group is completed instead."""
    _old_pair(tmp_path)
    train, val = _killed_mid_commit(tmp_path, "between", exchange=False)
    recover_commit(train)
    assert _ids(train) == _ids(val) == ["new"]
    assert _names(tmp_path) == ["T.jsonl", "V.jsonl"]


def test_a_file_changed_by_hand_after_the_kill_stops_the_recovery(tmp_path):
    _old_pair(tmp_path)
    train, val = _killed_mid_commit(tmp_path, "between")
    train.unlink()
    train.write_text('{"id":"mine"}\n')

    def files():  # the dead run's lock files aside: the recovery takes them over
        return {p.name: p.read_bytes() for p in tmp_path.iterdir() if not p.name.endswith(".lock")}

    before = files()
    with pytest.raises(UsageError, match=r"V\.jsonl\.ba-io-commit: a run killed .*T\.jsonl changed since; nothing"):
        read_jsonl(val)
    assert files() == before  # nothing touched


def test_a_file_of_the_users_at_a_journals_name_stops_the_commit(tmp_path):
    from ba_io import atomic_write, output_group

    _old_pair(tmp_path)
    (tmp_path / ("T.jsonl" + JOURNAL_SUFFIX)).write_text("my notes\n")
    with pytest.raises(UsageError, match="exists and is not this run's commit journal"):
        with output_group():
            for name in ("T.jsonl", "V.jsonl"):
                with atomic_write(tmp_path / name) as f:
                    f.write('{"id":"new"}\n')
    assert _ids(tmp_path / "T.jsonl") == _ids(tmp_path / "V.jsonl") == ["old"]
    assert (tmp_path / ("T.jsonl" + JOURNAL_SUFFIX)).read_text() == "my notes\n"
    assert _names(tmp_path) == ["T.jsonl", "T.jsonl" + JOURNAL_SUFFIX, "V.jsonl"]


def test_a_journal_copied_elsewhere_never_moves_a_file(tmp_path):
    """A journal names files by path and identity; one copied beside another file, or one
    whose partners lack their own journal, is refused and touches nothing."""
    first = tmp_path / "run"
    first.mkdir()
    _old_pair(first)
    _killed_mid_commit(first, "between")
    other = tmp_path / "other"
    other.mkdir()
    (other / "V.jsonl").write_text('{"id":"mine"}\n')
    (other / ("V.jsonl" + JOURNAL_SUFFIX)).write_bytes((first / ("V.jsonl" + JOURNAL_SUFFIX)).read_bytes())
    with pytest.raises(UsageError, match=r"half-replaced .*T\.jsonl\.ba-io-commit is gone; nothing was touched"):
        read_jsonl(other / "V.jsonl")
    assert (other / "V.jsonl").read_text() == '{"id":"mine"}\n'
    # in the run's own folder, with T's journal removed by hand mid-way, V's alone moves nothing
    (first / ("T.jsonl" + JOURNAL_SUFFIX)).unlink()
    with pytest.raises(UsageError, match=r"half-replaced .*T\.jsonl\.ba-io-commit is gone; nothing was touched"):
        read_jsonl(first / "V.jsonl")
    assert ((first / "T.jsonl").read_text(), (first / "V.jsonl").read_text()) == ('{"id":"old"}\n', '{"id":"new"}\n')
    assert (first / ("V.jsonl" + JOURNAL_SUFFIX)).exists()


def test_a_reader_through_a_link_finds_the_journal_beside_the_file(tmp_path):
    _old_pair(tmp_path)
    _killed_mid_commit(tmp_path, "between")
    link = tmp_path.parent / f"{tmp_path.name}-link.jsonl"
    link.symlink_to(tmp_path / "V.jsonl")
    try:
        assert _ids(link) == ["old"]
    finally:
        link.unlink()
    assert _ids(tmp_path / "T.jsonl") == ["old"]
    assert _names(tmp_path) == ["T.jsonl", "V.jsonl"]


def test_a_journals_tmp_file_a_kill_left_is_swept_by_the_next_commit(tmp_path):
    import time

    from ba_io import atomic_write, output_group

    stale = tmp_path / f"T.jsonl{JOURNAL_SUFFIX}.ba-io-99999999.abcd_123.tmp"
    stale.write_text("half a journal")
    os.utime(stale, (time.time() - 3600,) * 2)
    with output_group():
        for name in ("T.jsonl", "V.jsonl"):
            with atomic_write(tmp_path / name) as f:
                f.write('{"id":"new"}\n')
    assert _names(tmp_path) == ["T.jsonl", "V.jsonl"]


def test_a_kill_between_two_journal_removals_leaves_no_journal_that_refuses_later_runs(tmp_path):
    """Campaign 35 (D1): the group was complete, one journal was left; once the partner was
    rewritten alone, every read of the other file and every rerun was refused for good."""
    from ba_io import atomic_write

    _old_pair(tmp_path)
    train, val = _killed_mid_commit(tmp_path, "between-removals")
    assert sorted(p.name for p in tmp_path.glob(f"*{JOURNAL_SUFFIX}")) == ["V.jsonl" + JOURNAL_SUFFIX]
    with atomic_write(train) as f:  # another command rewrites the partner alone
        f.write('{"id":"third"}\n')
    assert (_ids(train), _ids(val)) == (["third"], ["new"])
    assert _names(tmp_path) == ["T.jsonl", "V.jsonl"]


def test_a_folder_moved_after_a_kill_mid_commit_still_recovers(tmp_path):
    """Campaign 35 (D3): journals named absolute paths; after `mv` of the folder every
    reader took them for copies, and removing them as told left rows in neither file."""
    run = tmp_path / "run"
    run.mkdir()
    _old_pair(run)
    _killed_mid_commit(run, "between")
    moved = tmp_path / "moved"
    run.rename(moved)
    assert _ids(moved / "V.jsonl") == _ids(moved / "T.jsonl") == ["old"]
    assert _names(moved) == ["T.jsonl", "V.jsonl"]


def test_an_output_at_a_journals_name_is_refused(tmp_path):
    """Campaign 35 (D4): `--val-out T.jsonl.ba-io-commit` was taken once, then every rerun
    of the command was refused."""
    import argparse

    from ba_io import atomic_write
    from ba_io.cli_types import output_path

    out = tmp_path / ("T.jsonl" + JOURNAL_SUFFIX)
    with pytest.raises(argparse.ArgumentTypeError, match="a name ba-io keeps for a commit journal"):
        output_path(str(out))  # every file output flag, when the command line is read
    with pytest.raises(UsageError, match="a name ba-io keeps for a commit journal"):
        with atomic_write(out) as f:
            f.write("x")
    assert _names(tmp_path) == []


def test_a_reader_that_cannot_put_a_journal_away_still_reads_a_whole_group(tmp_path, monkeypatch):
    """Campaign 35: in a read-only folder a complete group whose last journal a kill left
    was refused as "half-replaced"; a half-replaced one still is."""
    import ba_io.commit_journal as cj

    _old_pair(tmp_path)
    train, val = _killed_mid_commit(tmp_path, "between-removals")

    def read_only(*_a, **_k):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(cj, "_recover", read_only)
    assert _ids(val) == _ids(train) == ["new"]
    assert (tmp_path / ("V.jsonl" + JOURNAL_SUFFIX)).exists()  # kept for a writer to put away
    half = tmp_path / "half"
    half.mkdir()
    _old_pair(half)
    _killed_mid_commit(half, "between")
    with pytest.raises(UsageError, match=r"left half-replaced .* cannot be put right here \(Read-only file system\)"):
        read_jsonl(half / "V.jsonl")


def test_a_group_rolled_back_removes_the_folders_it_created(tmp_path):
    """Campaign 35: `compare -o NEW` killed mid-commit and rolled back by the next reader
    left the empty NEW/ and NEW/scored/ behind."""
    train, val = tmp_path / "T.jsonl", tmp_path / "NEW" / "scored" / "V.jsonl"
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(train), str(val), "between"])
    assert proc.returncode == -signal.SIGKILL and val.exists() and not train.exists()
    recover_commit(val)
    assert _names(tmp_path) == []


def _killed_cross_folder(tmp_path: Path, train: Path, val: Path) -> None:
    for p in (train, val):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text('{"id":"old"}\n')
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(train), str(val), "between"])
    assert proc.returncode == -signal.SIGKILL


def test_one_folder_of_a_group_moved_after_a_kill_stops_the_recovery(tmp_path):
    """Campaign 36 (r1): train in a/, val in b/, killed between the renames, then `mv a a2`:
    the reader of b/V.jsonl took the partner's journal for gone, kept V new and deleted the
    earlier V it had kept: rows in neither file."""
    _killed_cross_folder(tmp_path, tmp_path / "a" / "T.jsonl", tmp_path / "b" / "V.jsonl")
    (tmp_path / "a").rename(tmp_path / "a2")
    before = sorted(p.name for p in (tmp_path / "b").iterdir() if not p.name.endswith(".lock"))
    with pytest.raises(UsageError, match="nothing was touched"):
        read_jsonl(tmp_path / "b" / "V.jsonl")
    assert sorted(p.name for p in (tmp_path / "b").iterdir() if not p.name.endswith(".lock")) == before
    assert any(n.endswith(".old") for n in before)  # the earlier val is kept for the user
    (tmp_path / "a").mkdir()  # campaign 37 (r1): a new file at the moved partner's path
    (tmp_path / "a" / "T.jsonl").write_text('{"id":"another"}\n')
    with pytest.raises(UsageError, match="nothing was touched"):
        read_jsonl(tmp_path / "b" / "V.jsonl")
    assert sorted(p.name for p in (tmp_path / "b").iterdir() if not p.name.endswith(".lock")) == before
    shutil.rmtree(tmp_path / "a")
    (tmp_path / "a2").rename(tmp_path / "a")  # moved back: the group is put right
    assert _ids(tmp_path / "b" / "V.jsonl") == _ids(tmp_path / "a" / "T.jsonl") == ["old"]


@pytest.mark.parametrize("how", ["linked-folder", "dotdot-through-a-link"])
def test_a_target_spelled_through_a_link_recovers_from_either_spelling(tmp_path, how):
    """Campaign 36 (r2, r5): `--train-out L/T.jsonl` with L a link to far/a, or `x/../T.jsonl`
    with x a link to far/a: the journal named the partner by one spelling and was read by
    the other (or the tmp files lay in another folder), and a reader settled one file alone."""
    far = tmp_path / "far" / "a"
    far.mkdir(parents=True)
    if how == "linked-folder":
        (tmp_path / "L").symlink_to(far)
        train, real = tmp_path / "L" / "T.jsonl", far / "T.jsonl"
    else:
        (tmp_path / "x").symlink_to(far)
        train, real = tmp_path / "x" / ".." / "T.jsonl", tmp_path / "far" / "T.jsonl"
    val = tmp_path / "V.jsonl"
    _killed_cross_folder(tmp_path, train, val)
    assert _ids(train) == _ids(val) == ["old"]
    assert sorted(p.name for p in real.parent.iterdir() if p.is_file()) == ["T.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["V.jsonl"]


def test_a_group_whose_undo_fails_keeps_its_journals_for_the_next_reader(tmp_path, monkeypatch):
    """A group whose second rename failed and whose undo of the first failed too (an I/O
    error) left the new V.jsonl beside the earlier T.jsonl and removed its journals, so no
    later command could put the group right: the journals now stay until the group is whole."""
    import ba_io.jsonio as jio
    from ba_io import atomic_write, output_group

    _old_pair(tmp_path)
    train, val = tmp_path / "T.jsonl", tmp_path / "V.jsonl"
    real_place = jio._place
    calls = []

    def place(tmp, target, *rest):
        calls.append(target)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        return real_place(tmp, target, *rest)

    def unplace(*args):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(jio, "_place", place)
    monkeypatch.setattr(jio, "_unplace", unplace)
    with pytest.raises(OSError, match="Input/output"):
        with output_group():
            for path in (train, val):
                with atomic_write(path) as f:
                    f.write('{"id":"new"}\n')
    assert (train.read_text(), val.read_text()) == ('{"id":"old"}\n', '{"id":"new"}\n')  # the undo failed
    assert (tmp_path / ("V.jsonl" + JOURNAL_SUFFIX)).exists()
    monkeypatch.undo()
    assert _ids(train) == _ids(val) == ["old"]  # the next reader rolls the group back
    assert _names(tmp_path) == ["T.jsonl", "V.jsonl"]
