import errno
import hashlib
import json
import os
import pickle
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ba_io import (
    DataError,
    UsageError,
    append_jsonl,
    atomic_write,
    output_group,
    progress,
    read_json,
    read_jsonl,
    sha256_file,
    sha256_text,
    write_json,
    write_jsonl,
)

RD = "requirement-document"
GOOD = {"id": "c1", "concept": "A café that sells ☕ by subscription."}


def _no_tmp(folder):
    return not list(folder.glob("*.tmp"))


def test_write_jsonl_roundtrip(tmp_path):
    out = tmp_path / "a" / "b" / "out.jsonl"
    assert write_jsonl(out, [GOOD, {**GOOD, "id": "c2"}], "concept") == 2
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n") and text.count("\n") == 2
    assert text.splitlines()[0] == '{"id":"c1","concept":"A café that sells ☕ by subscription."}'
    assert read_jsonl(out, "concept")[1]["id"] == "c2"
    assert _no_tmp(out.parent)


def test_write_jsonl_accepts_generator_and_empty(tmp_path):
    out = tmp_path / "out.jsonl"
    write_jsonl(out, (r for r in [GOOD]))
    assert read_jsonl(out) == [GOOD]
    write_jsonl(out, [])
    assert out.read_text() == ""


def test_write_jsonl_invalid_row_keeps_old_file(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    with pytest.raises(DataError) as ei:
        write_jsonl(out, [GOOD, GOOD, {"id": "x"}], "concept")
    assert str(ei.value) == f"{out}:3: (root): 'concept' is a required property"
    assert out.read_text() == "old\n"
    assert _no_tmp(tmp_path)


def test_write_jsonl_rejects_non_objects_and_nan(tmp_path):
    out = tmp_path / "out.jsonl"
    with pytest.raises(DataError, match=r":2: expected a JSON object, got list$"):
        write_jsonl(out, [GOOD, [1]])
    with pytest.raises(DataError, match=r":1: cannot serialise to JSON: "):
        write_jsonl(out, [{"x": float("nan")}])
    with pytest.raises(DataError, match=r":1: cannot serialise to JSON: "):
        write_jsonl(out, [{"x": object()}])
    assert not out.exists() and _no_tmp(tmp_path)


def test_atomic_write_exception_midway(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(out) as f:
            f.write("new partial")
            assert len(list(tmp_path.glob("out.txt.*.tmp"))) == 1
            raise RuntimeError("boom")
    assert out.read_text() == "old"
    assert _no_tmp(tmp_path)
    with atomic_write(out, "wb") as f:
        f.write(b"\x00bin")
    assert out.read_bytes() == b"\x00bin"
    with pytest.raises(ValueError):
        with atomic_write(out, "a"):
            pass


def test_append_jsonl(tmp_path):
    out = tmp_path / "d" / "p.jsonl"
    append_jsonl(out, GOOD, "concept")
    append_jsonl(out, {**GOOD, "id": "c2"}, "concept")
    assert [r["id"] for r in read_jsonl(out, "concept")] == ["c1", "c2"]
    with pytest.raises(DataError, match=r"p\.jsonl: \(root\): 'concept' is a required property"):
        append_jsonl(out, {"id": "x"}, "concept")
    assert len(read_jsonl(out)) == 2


def test_append_after_partial_line(tmp_path):
    out = tmp_path / "p.jsonl"
    out.write_text(json.dumps(GOOD) + "\n" + '{"id": "trunc')
    append_jsonl(out, {**GOOD, "id": "c3"})
    rejects = tmp_path / "r.jsonl"
    rows = read_jsonl(out, "concept", rejects=rejects)
    assert [r["id"] for r in rows] == ["c1", "c3"]
    assert json.loads(rejects.read_text())["line"] == 2


def test_write_json(tmp_path):
    out = tmp_path / "r.json"
    obj = {"z": 1, "a": ["é"]}
    write_json(out, obj)
    assert out.read_text(encoding="utf-8") == '{\n  "z": 1,\n  "a": [\n    "é"\n  ]\n}\n'
    assert read_json(out) == obj
    out.write_text("old")
    with pytest.raises(DataError, match=r"r\.json: \(root\): 'concept' is a required property"):
        write_json(out, {"id": "x"}, "concept")
    assert out.read_text() == "old" and _no_tmp(tmp_path)


def test_hashes(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"abc" * 1000)
    assert sha256_file(p) == hashlib.sha256(b"abc" * 1000).hexdigest()
    assert sha256_text("é") == hashlib.sha256("é".encode()).hexdigest()


def test_data_error_format_and_pickle():
    e = DataError("f.jsonl", 3, "bad")
    assert str(e) == "f.jsonl:3: bad"
    assert str(DataError("f.json", None, "bad")) == "f.json: bad"
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.path, e2.line, e2.message) == ("f.jsonl", 3, "bad")


def test_progress(monkeypatch):
    assert list(progress(range(3), desc="x")) == [0, 1, 2]
    monkeypatch.setenv("BA_NO_PROGRESS", "1")
    bar = progress(total=5)
    assert bar.disable
    bar.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.dictionaries(st.text(), json_values, max_size=4), max_size=5))
def test_jsonl_roundtrip_property(tmp_path_factory, rows):
    out = tmp_path_factory.mktemp("rt") / "rows.jsonl"
    write_jsonl(out, rows)
    # empty dicts are real rows ("{}"), never blank lines
    assert read_jsonl(out) == rows


def test_concurrent_atomic_writes_leave_one_whole_file(tmp_path):
    """Two writers of one path each have their own tmp file: the result is one of them, whole."""
    out = tmp_path / "out.txt"
    with atomic_write(out) as a:
        a.write("first " * 1000)
        with atomic_write(out) as b:
            b.write("second " * 10)
            assert len(list(tmp_path.glob("out.txt.*.tmp"))) == 2
        assert out.read_text() == "second " * 10
    assert out.read_text() == "first " * 1000
    assert _no_tmp(tmp_path)


def test_atomic_write_keeps_the_usual_permissions_and_names_the_target_when_it_cannot(tmp_path):
    out = tmp_path / "out.txt"
    with atomic_write(out) as f:
        f.write("x")
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def test_an_unwritable_folder_is_reported_with_the_target_not_the_tmp_name(tmp_path, monkeypatch):
    import tempfile

    def refuse(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "x.json.abc.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(OSError) as exc:
        with atomic_write(tmp_path / "x.json"):
            pass
    assert str(exc.value) == f"[Errno 13] cannot write {tmp_path / 'x.json'}: Permission denied"
    assert ".tmp" not in str(exc.value)


def test_an_output_group_commits_every_file_or_none(tmp_path, monkeypatch):
    """#17.12: one command's outputs appear together or not at all."""
    import ba_io.jsonio as jio
    from ba_io import UsageError, output_group

    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("old a")
    (tmp_path / "plain-file").write_text("")
    with pytest.raises(UsageError, match="a folder on this path is a file"):
        with output_group():
            with atomic_write(a) as f:
                f.write("new a")
            assert a.read_text() == "old a"  # nothing is renamed before the group ends
            with atomic_write(tmp_path / "plain-file" / "rejects.jsonl") as f:  # cannot be created
                f.write("never")
    assert a.read_text() == "old a" and _no_tmp(tmp_path)

    order = []
    real = jio._place  # each target is put in place by one call
    monkeypatch.setattr(jio, "_place", lambda s, d, *r: (order.append(Path(d).name), real(s, d, *r))[1])
    with output_group():
        with atomic_write(a) as f:
            f.write("new a")
        with output_group():  # nested: joins the outer group
            with atomic_write(b) as f:
                f.write("new b")
        assert not b.exists()
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    assert order == ["b.jsonl", "a.jsonl"]  # the first (primary) output is committed last
    assert _no_tmp(tmp_path)


def test_ba_no_progress_also_silences_library_bars():
    """#17.13: BA_NO_PROGRESS=1 left transformers' tqdm bars ("Loading weights") on."""
    import subprocess
    import sys

    code = "import ba_io, tqdm; [x for x in tqdm.tqdm(range(3), desc='library bar')]"
    env = {**os.environ, "BA_NO_PROGRESS": "1"}
    env.pop("TQDM_DISABLE", None)
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    env.pop("BA_NO_PROGRESS")
    loud = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert quiet.returncode == loud.returncode == 0
    assert "library bar" in loud.stderr and quiet.stderr == ""


def _dead_writer_tmp(folder, name, age_s=3600.0, directory=False, pid=99999999):
    """A tmp file (or folder) as a killed writer leaves it: a pid that cannot exist, old."""
    import time

    tmp = folder / f"{name}.ba-io-{pid}.{'d1rd1rd1' if directory else 'f1lef1le'}.tmp"
    if directory:
        tmp.mkdir()
        (tmp / "part.bin").write_bytes(b"half")
    else:
        tmp.write_text("half a file")
    os.utime(tmp, (time.time() - age_s, time.time() - age_s))
    return tmp


def test_tmp_files_of_a_killed_writer_are_swept_by_the_next_write(tmp_path):
    """#17: kill -9 left NAME.<random>.tmp files behind for good."""
    out = tmp_path / "out.jsonl"
    stale = _dead_writer_tmp(tmp_path, "out.jsonl")
    stale_dir = _dead_writer_tmp(tmp_path, "out.jsonl", directory=True)
    fresh = _dead_writer_tmp(tmp_path, "out.jsonl", age_s=0, pid=99999998)  # may be another host's writer
    live = tmp_path / f"out.jsonl.ba-io-{os.getppid()}.l1vel1ve.tmp"  # a live process's file is never touched
    live.write_text("in progress")
    os.utime(live, (1, 1))
    other = _dead_writer_tmp(tmp_path, "other.jsonl")  # another target's: not ours to sweep
    user = tmp_path / "out.jsonl.notes.tmp"  # no pid in it: the user's
    user.write_text("mine")
    os.utime(user, (1, 1))
    # the tmp file of a sibling target out.jsonl.99999997 (a live writer's): not out.jsonl's to take
    sibling = tmp_path / f"out.jsonl.99999997.ba-io-{os.getppid()}.s1bs1bs1.tmp"
    sibling.write_text("in progress")
    os.utime(sibling, (1, 1))
    write_jsonl(out, [GOOD])
    assert read_jsonl(out) == [GOOD]
    assert not stale.exists() and not stale_dir.exists()
    assert fresh.exists() and live.exists() and other.exists() and user.exists() and sibling.exists()


def test_atomic_path_commits_a_file_or_folder_written_by_path_or_removes_it(tmp_path):
    from ba_io import atomic_path, output_group

    out = tmp_path / "model.gguf"
    out.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(out) as tmp:
            assert tmp.parent == tmp_path and tmp.name.startswith(f"model.gguf.ba-io-{os.getpid()}.")
            tmp.write_bytes(b"half")
            raise RuntimeError("writer failed")
    assert out.read_bytes() == b"old" and _no_tmp(tmp_path)
    with atomic_path(out) as tmp:
        tmp.write_bytes(b"new")
    assert out.read_bytes() == b"new" and _no_tmp(tmp_path)

    folder = tmp_path / "merged"
    folder.mkdir()
    (folder / "old.bin").write_bytes(b"old")
    with output_group():
        with atomic_path(folder, directory=True) as tmp:
            (tmp / "new.bin").write_bytes(b"new")
        with atomic_write(tmp_path / "info.json") as f:
            f.write("{}")
        assert (folder / "old.bin").exists()  # nothing moves before the group ends
    assert sorted(p.name for p in folder.iterdir()) == ["new.bin"]
    assert (tmp_path / "info.json").read_text() == "{}"
    assert _no_tmp(tmp_path)


def test_a_group_with_a_folder_or_fifo_in_a_files_place_commits_nothing(tmp_path):
    """The campaign: `split --train-out DIR` committed the val file and left the train tmp behind;
    `-o FIFO` (or a device node) replaced the node by a regular file."""
    from ba_io import UsageError, output_group

    (tmp_path / "t.jsonl").mkdir()
    os.mkfifo(tmp_path / "fifo.jsonl")
    for bad, message in (("t.jsonl", "is a folder"), ("fifo.jsonl", "not a regular file")):
        with pytest.raises(UsageError, match=message):
            with output_group():
                write_jsonl(tmp_path / "v.jsonl", [GOOD])
                write_jsonl(tmp_path / bad, [GOOD])
        assert not (tmp_path / "v.jsonl").exists() and _no_tmp(tmp_path)
    assert (tmp_path / "t.jsonl").is_dir() and (tmp_path / "fifo.jsonl").is_fifo()


def test_a_target_that_becomes_a_folder_before_the_commit_commits_nothing(tmp_path):
    from ba_io import UsageError, output_group

    with pytest.raises(UsageError, match="is a folder"):
        with output_group():
            write_jsonl(tmp_path / "v.jsonl", [GOOD])
            write_jsonl(tmp_path / "t.jsonl", [GOOD])
            (tmp_path / "t.jsonl").mkdir()  # appeared after its tmp file was written
    assert not (tmp_path / "v.jsonl").exists() and _no_tmp(tmp_path)


def test_a_link_to_a_fifo_or_folder_is_refused_and_a_link_to_a_file_is_written_through(tmp_path):
    """Round-2 campaign: `-o L` with L a link to a device node replaced the link (as root,
    `-o /dev/stdout` would replace that link)."""
    from ba_io import UsageError

    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    for name, dest in (("to-fifo", "fifo"), ("to-dir", "dir")):
        (tmp_path / name).symlink_to(tmp_path / dest)
        with pytest.raises(UsageError, match="not a regular file|is a folder"):
            write_jsonl(tmp_path / name, [GOOD])
        assert (tmp_path / name).is_symlink()
    (tmp_path / "file.jsonl").write_text("old")
    (tmp_path / "to-file").symlink_to(tmp_path / "file.jsonl")
    write_jsonl(tmp_path / "to-file", [GOOD])
    assert (tmp_path / "to-file").is_symlink() and read_jsonl(tmp_path / "file.jsonl") == [GOOD]
    # campaign 4: a dangling link was replaced by the file (the user's link lost)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="a symbolic link to a missing file"):
        write_jsonl(tmp_path / "dangling", [GOOD])
    assert (tmp_path / "dangling").is_symlink() and not (tmp_path / "nowhere").exists()
    # a path under a file is a usage error, not an internal one
    with pytest.raises(UsageError, match="a folder on this path is a file"):
        write_jsonl(tmp_path / "file.jsonl" / "sub", [GOOD])


def test_a_folder_output_is_exchanged_in_one_step(tmp_path):
    """A folder replacing a folder: at no instant is the target missing (renameat2
    RENAME_EXCHANGE), and nothing of ours is left beside it."""
    from ba_io import atomic_path

    out = tmp_path / "adapter"
    out.mkdir()
    (out / "old.bin").write_text("old")
    with atomic_path(out, directory=True) as tmp:
        (tmp / "new.bin").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["new.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter"]


def test_a_writer_killed_between_the_two_renames_of_the_fallback_loses_nothing(tmp_path, monkeypatch):
    """Without the exchange, the old folder is moved aside first; a writer killed before the
    new one took its place leaves the target missing: the next write of it restores the old
    folder instead of sweeping it away."""
    import time

    from ba_io import atomic_path, jsonio

    monkeypatch.setenv("BA_IO_NO_EXCHANGE", "1")
    jsonio._renameat2.cache_clear()
    try:
        out = tmp_path / "adapter"
        out.mkdir()
        (out / "weights.bin").write_text("v1")
        with atomic_path(out, directory=True) as tmp:  # the fallback path works end to end
            (tmp / "weights.bin").write_text("v2")
        assert (out / "weights.bin").read_text() == "v2"
        # as a kill -9 after the first rename leaves it (a dead pid, an old folder)
        aside = tmp_path / "adapter.ba-io-99999999.k1llk1ll.aside"
        os.replace(out, aside)
        os.utime(aside, (time.time() - 3600, time.time() - 3600))
        jsonio.sweep_stale_tmp(out, directory=True)
        assert (out / "weights.bin").read_text() == "v2" and not aside.exists()
        # with the target there, a dead writer's aside folder is removed
        aside.mkdir()
        os.utime(aside, (time.time() - 3600, time.time() - 3600))
        jsonio.sweep_stale_tmp(out, directory=True)
        assert not aside.exists() and (out / "weights.bin").read_text() == "v2"
    finally:
        jsonio._renameat2.cache_clear()


def test_a_folder_put_back_from_aside_is_never_replaced_unchecked(tmp_path):
    """Campaign 18: a dead writer's aside folder was put back by the write of a command that
    had checked the path when it was missing, and was then replaced at once (a file the
    user had added to it was deleted). The write stops with a usage error instead: the
    folder is back, untouched, for the next run's check."""
    import time

    from ba_io import UsageError, atomic_path

    out = tmp_path / "ds"
    aside = tmp_path / "ds.ba-io-99999999.k1llk1ll.aside"
    aside.mkdir()
    (aside / "precious.txt").write_text("mine")
    os.utime(aside, (time.time() - 3600, time.time() - 3600))
    with pytest.raises(UsageError, match="was put back"):
        with atomic_path(out, directory=True) as tmp:
            (tmp / "new.bin").write_text("new")
    assert (out / "precious.txt").read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_an_aside_folder_is_never_restored_onto_a_file_output(tmp_path):
    """Campaign 17: a stale ``o.jsonl.ba-io-PID.RANDOM.aside`` folder (only folder writes
    move anything aside) was renamed onto the file output ``o.jsonl``, and with ``o.jsonl``
    there it was deleted. A file write leaves it alone, and writes its file."""
    import time

    aside = tmp_path / "o.jsonl.ba-io-99999999.k1llk1ll.aside"
    aside.mkdir()
    (aside / "notes.txt").write_text("mine")
    os.utime(aside, (time.time() - 3600, time.time() - 3600))
    write_jsonl(tmp_path / "o.jsonl", [GOOD])
    assert read_jsonl(tmp_path / "o.jsonl") == [GOOD]
    write_jsonl(tmp_path / "o.jsonl", [GOOD, GOOD])
    assert (aside / "notes.txt").read_text() == "mine"


def test_an_output_that_links_to_a_file_is_written_through(tmp_path):
    """`-o latest.jsonl` with latest.jsonl -> run3.jsonl rewrites run3.jsonl and keeps the
    user's link (as cp does)."""
    from ba_io import atomic_path

    (tmp_path / "run3.jsonl").write_text("old")
    (tmp_path / "latest.jsonl").symlink_to("run3.jsonl")
    write_jsonl(tmp_path / "latest.jsonl", [GOOD])
    assert (tmp_path / "latest.jsonl").is_symlink()
    assert read_jsonl(tmp_path / "run3.jsonl") == [GOOD]
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a").write_text("old")
    (tmp_path / "dir-link").symlink_to("real")
    with atomic_path(tmp_path / "dir-link", directory=True) as tmp:
        (tmp / "b").write_text("new")
    assert (tmp_path / "dir-link").is_symlink()
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["b"]


def test_a_group_that_fails_leaves_no_folder_it_created(tmp_path):
    """Campaign 3: `compare` refused a FIFO in a report's place (exit 2, "nothing was
    written") but left the empty scored/ folder its first write had made."""
    from ba_io import UsageError, output_group

    out = tmp_path / "reports"
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(UsageError):
        with output_group():
            write_jsonl(out / "comparison.jsonl", [GOOD])
            write_jsonl(out / "scored" / "a.jsonl", [GOOD])
            write_jsonl(tmp_path / "fifo", [GOOD])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]
    out.mkdir()  # a folder that was there before stays
    with pytest.raises(RuntimeError):
        with output_group():
            write_jsonl(out / "scored" / "a.jsonl", [GOOD])
            raise RuntimeError("killed")
    assert out.is_dir() and not any(out.iterdir())


def test_a_users_file_that_looks_like_a_tmp_name_is_never_swept(tmp_path):
    """Campaign 5: `train.jsonl.20240101.bak.tmp` (an hour old, its "pid" not running) was
    deleted as a dead writer's leftover, and a user's `.old.aside` folder with it."""
    import time

    out = tmp_path / "train.jsonl"
    backup = tmp_path / "train.jsonl.20240101.bak.tmp"
    backup.write_text("my backup")
    folder = tmp_path / "train.jsonl.20240101.old.aside"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    # campaign 6: names of exactly the old shape NAME.<digits>.<8 of a-z0-9_> were still taken
    backup2 = tmp_path / "train.jsonl.2024.backup_1.tmp"
    backup2.write_text("my other backup")
    folder2 = tmp_path / "train.jsonl.2024.archive1.aside"
    folder2.mkdir()
    (folder2 / "mydata.txt").write_text("mine too")
    for p in (backup, folder, backup2, folder2):
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    write_jsonl(out, [GOOD])
    write_jsonl(out, [GOOD])
    assert backup.read_text() == "my backup" and (folder / "notes.txt").read_text() == "mine"
    assert backup2.read_text() == "my other backup" and (folder2 / "mydata.txt").read_text() == "mine too"


def test_is_tmp_name_knows_exactly_the_tmp_names_atomic_path_makes(tmp_path):
    """One owner for the tmp-name pattern (ba-lora's checkpoint check had its own regex)."""
    from ba_io import atomic_path, is_tmp_name

    target = tmp_path / "adapter_model.safetensors"
    with atomic_path(target) as tmp:
        assert is_tmp_name(target, tmp.name)
        tmp.write_bytes(b"x")
    for name in (
        "adapter_model.safetensors",
        "adapter_model.safetensors.2024.backup_1.tmp",  # a user's name
        "adapter_model.safetensors.ba-io-12.abc.def.tmp",  # a dot in the random part
        "adapter_model.safetensors.ba-io-x1.abcdefgh.tmp",
        "adapter_model.safetensors.ba-io-12.abcdefgh.aside",
        "other.ba-io-12.abcdefgh.tmp",
    ):
        assert not is_tmp_name(target, name), name
    assert is_tmp_name("adapter_model.safetensors", "adapter_model.safetensors.ba-io-12.abcdefgh.tmp")


def test_atomic_path_gives_what_a_library_wrote_the_umasks_modes(tmp_path):
    """Campaign 24: `ba-lora merge` left model.safetensors 0600 (safetensors creates its files
    so), unreadable by the service that runs the model; a hard link inside keeps its mode."""
    import os
    import stat

    from ba_io import atomic_path

    old = os.umask(0o022)
    try:
        shared = tmp_path / "venv-file"
        shared.write_text("x")
        os.chmod(shared, 0o444)
        with atomic_path(tmp_path / "merged", directory=True) as d:
            (d / "model.safetensors").write_text("w")
            os.chmod(d / "model.safetensors", 0o600)
            (d / "sub").mkdir(mode=0o700)
            (d / "sub" / "a.json").write_text("{}")
            os.chmod(d / "sub" / "a.json", 0o600)
            os.link(shared, d / "base.gguf")
        with atomic_path(tmp_path / "one.bin") as f:
            f.write_text("w")
            os.chmod(f, 0o600)
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "merged" / "model.safetensors") == 0o644
    assert mode(tmp_path / "merged" / "sub") == 0o755 and mode(tmp_path / "merged" / "sub" / "a.json") == 0o644
    assert mode(shared) == 0o444 and mode(tmp_path / "one.bin") == 0o644


def test_a_full_disk_is_one_error_line_naming_the_file(tmp_path, capsys):
    """Campaign 24: ENOSPC raised by a write has no file name, so a full disk was
    "Error: No space left on device" naming nothing; safetensors' and the GGUF writer's own
    errors were internal errors (exit 1). Each now names the output, exit 2."""

    import pytest

    from ba_io import append_jsonl, atomic_path, atomic_write, run_cli

    class SafetensorError(Exception):  # what safetensors raises, by name
        pass

    def full(kind):
        def main(argv):
            if kind == "write":
                with atomic_write(tmp_path / "out.jsonl") as f:
                    f.write("x")
                    raise OSError(errno.ENOSPC, "No space left on device")
            if kind == "safetensors":
                with atomic_path(tmp_path / "adapter", directory=True):
                    raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
            if kind == "gguf":
                with atomic_path(tmp_path / "model.gguf"):
                    raise OSError("12288 requested and 5104 written")
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr("os.fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left")))
                append_jsonl(tmp_path / "p.jsonl", {"id": "a"})

        return main

    for kind, name in (
        ("write", "out.jsonl"),
        ("safetensors", "adapter"),
        ("gguf", "model.gguf"),
        ("append", "p.jsonl"),
    ):
        assert run_cli(full(kind), []) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"Error: {tmp_path / name}: ") and "No space left" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.jsonl"]  # nothing else was left behind


def _hold_lock_in_another_process(out: Path, seconds: float, ready: Path):
    import subprocess
    import sys

    code = (
        "import sys, time; from pathlib import Path; from ba_io import output_lock\n"
        f"with output_lock({str(out)!r}):\n"
        f"    Path({str(ready)!r}).write_text('held')\n"
        f"    time.sleep({seconds})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    for _ in range(600):
        if ready.exists():
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the helper process never took the lock")


def _write_pair(train: Path, val: Path, text: str) -> None:
    with output_group():
        with atomic_write(train) as f:
            f.write(text)
        with atomic_write(val) as f:
            f.write(text)


def test_a_groups_commit_waits_for_another_runs_commit_of_the_same_files(tmp_path):
    """Campaign 25 (r6): two `split` runs committing at once left train.jsonl of one run and
    val.jsonl of the other (rows in neither file, concepts in both). A commit now locks its
    targets, so the other run's commit happens wholly before or after it."""
    train, val = tmp_path / "train.jsonl", tmp_path / "val.jsonl"
    other = _hold_lock_in_another_process(val, 1.0, tmp_path / "ready")
    t0 = time.monotonic()
    _write_pair(train, val, "mine\n")
    assert time.monotonic() - t0 >= 0.5  # it waited for the other commit
    assert other.wait(timeout=30) == 0
    assert train.read_text() == val.read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ready", "train.jsonl", "val.jsonl"]


def test_a_group_whose_target_another_run_holds_commits_nothing(tmp_path, monkeypatch):
    import ba_io.jsonio

    monkeypatch.setattr(ba_io.jsonio, "COMMIT_WAIT_S", 0.3)
    train, val = tmp_path / "train.jsonl", tmp_path / "val.jsonl"
    _write_pair(train, val, "old\n")
    other = _hold_lock_in_another_process(val, 5.0, tmp_path / "ready")
    try:
        with pytest.raises(UsageError, match=r"val.jsonl: another run is writing it"):
            _write_pair(train, val, "new\n")
    finally:
        other.kill()
        other.wait()
    assert train.read_text() == val.read_text() == "old\n"  # neither file replaced
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_group_commits_an_output_its_own_command_holds_locked(tmp_path):
    """synth and the exports hold OUT.lock for their whole run and commit OUT in a group."""
    from ba_io import output_lock

    out, side = tmp_path / "out.jsonl", tmp_path / "out.md"
    with output_lock(out):
        _write_pair(out, side, "x\n")
    assert out.read_text() == side.read_text() == "x\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "out.md"]


@pytest.mark.parametrize("how", ["truncate", "append", "same-size"])
def test_an_appender_sees_its_file_written_in_place_by_another_command(tmp_path, how):
    """Campaign 27: `> OUT.partial`, `>> OUT.partial` or `cp X OUT.partial` while synth
    appended kept the inode, and an O_APPEND file's tell() always equals its size: synth
    renamed the file and exited 0 with its rows replaced or mixed with foreign ones."""
    from ba_io import DataError, JsonlAppender

    path = tmp_path / "out.jsonl.partial"
    path.write_text('{"id": "r0"}\n')
    with JsonlAppender(path) as appender:
        appender.append({"id": "r1"})
        appender.append({"id": "r2"})
        appender.check_unchanged()  # nobody else wrote: fine
        mine = path.read_bytes()
        if how == "truncate":
            path.write_text('{"id": "x"}\n')
        elif how == "append":
            with open(path, "a") as f:
                f.write('{"id": "x"}\n')
        else:
            with open(path, "r+b") as f:
                f.write(mine.replace(b"r1", b"x9"))
        appender.append({"id": "r3"})
        with pytest.raises(DataError, match="written by another command"):
            appender.check_unchanged()


def test_an_appender_on_a_full_disk_fails_once_naming_its_file_and_what_it_keeps(tmp_path):
    """Campaign 27: the named ENOSPC of a failed append was replaced by an unnamed one
    raised again by close() (the buffered bytes flushed a second time); campaign 28: the
    line said "(nothing was written there)" of a file that keeps every row before."""
    from ba_io import JsonlAppender

    path = tmp_path / "out.jsonl.partial"
    with pytest.raises(UsageError) as e:
        with JsonlAppender(path) as appender:
            appender.append({"id": "r0"})
            appender._file.close()
            appender._file = open("/dev/full", "ab")  # every flush: ENOSPC
            appender.append({"id": "r1"})
    assert str(e.value) == (
        f"{path}: No space left on device; the rows it held before this one are kept there: "
        "free some space and run again to resume from what it holds"
    )
    assert path.read_text() == '{"id":"r0"}\n'


def test_an_appender_checks_size_cheaply_and_bytes_fully_and_fresh_means_new(tmp_path):
    from ba_io import DataError, JsonlAppender

    path = tmp_path / "p.jsonl"
    with JsonlAppender(path, fresh=True) as appender:
        appender.append({"id": "r1"})
        appender.check_unchanged(full=False)
        with open(path, "r+b") as f:  # same size, other bytes: only the full check reads them
            f.write(b'{"id":"x9"}')
        appender.check_unchanged(full=False)
        with pytest.raises(DataError, match="written by another command"):
            appender.check_unchanged()
        with open(path, "ab") as f:
            f.write(b"{}\n")
        with pytest.raises(DataError, match="written by another command"):
            appender.check_unchanged(full=False)
    with pytest.raises(FileExistsError):
        JsonlAppender(path, fresh=True)
    with JsonlAppender(path, track=False) as appender, pytest.raises(ValueError, match="track=True"):
        appender.check_unchanged()


def test_a_file_written_alone_waits_for_its_lock_and_never_replaces_a_held_output(tmp_path, monkeypatch):
    """Campaign 28: `ba-io validate X -o P.jsonl` (one file, no group) replaced the output a
    running `ba-eval generate -o P.jsonl` held locked and appended to; both exited 0."""
    import subprocess
    import sys

    import ba_io.jsonio

    out = tmp_path / "p.jsonl"
    out.write_text("theirs\n")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from ba_io import output_lock\n"
         f"with output_lock({str(out)!r}):\n print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "held\n"
        monkeypatch.setattr(ba_io.jsonio, "COMMIT_WAIT_S", 0.3)
        with pytest.raises(UsageError, match=r"p\.jsonl: another run is writing it \(pid \d+\)"):
            write_jsonl(out, [{"id": "mine"}])
        assert out.read_text() == "theirs\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["p.jsonl", "p.jsonl.lock"]
    finally:
        holder.kill()
        holder.wait()
    write_jsonl(out, [{"id": "mine"}])  # a lock left by a killed run is taken over
    assert json.loads(out.read_text()) == {"id": "mine"} and sorted(p.name for p in tmp_path.iterdir()) == ["p.jsonl"]


def test_an_unnamed_rejects_path_is_checked_again_when_it_is_committed(tmp_path):
    """Campaign 29: `ba-dataset-tools fix IN -o OUT` (no --rejects) checked OUT.rejects.jsonl
    at the start only; a file of the user's copied there mid-run was emptied, exit 0."""
    from ba_io import default_rejects

    out = tmp_path / "out.jsonl"
    rejects = Path(default_rejects(out))
    with pytest.raises(UsageError, match=r"out\.rejects\.jsonl exists and is not a rejects file"):
        with output_group():
            write_jsonl(out, [{"id": "a"}])
            rejects.write_text("my notes\n")  # the user, while the command runs
            write_jsonl(rejects, [])
    assert rejects.read_text() == "my notes\n" and not out.exists()
    rejects.write_text('{"reason": "an earlier run\'s"}\n')
    write_jsonl(rejects, [])  # an earlier rejects file is still replaced
    assert rejects.read_text() == ""


def test_a_link_put_at_an_unnamed_rejects_path_mid_run_is_refused_not_written_through(tmp_path):
    """Campaign 30: `ln -s notes.txt F.rejects.jsonl` while `fix` ran: the write followed the
    link and emptied notes.txt, exit 0 (the commit's check looked up the link's target)."""
    from ba_io import default_rejects

    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    out = tmp_path / "out.jsonl"
    rejects = Path(default_rejects(out))
    rejects.symlink_to("notes.txt")  # before the write opens its tmp file
    with pytest.raises(UsageError, match=r"out\.rejects\.jsonl exists and is not a rejects file"):
        with output_group():
            write_jsonl(out, [{"id": "a"}])
            write_jsonl(rejects, [])
    assert notes.read_text() == "my notes\n" and rejects.is_symlink() and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "out.rejects.jsonl"]


_EARLIER = '{"reason": "an earlier run\'s"}\n'


# without an exchange (BA_IO_NO_EXCHANGE) only an empty place is guarded in the rename itself:
# a file that replaces another one is checked just before, as before campaign 31
@pytest.mark.parametrize(
    ("exchange", "intruder", "earlier"),
    [(x, i, e) for x in ("renameat2", "fallback") for i in ("file", "link") for e in (None, _EARLIER)
     if x == "renameat2" or e is None],
)  # fmt: skip
def test_a_file_put_at_a_rechecked_path_just_after_its_check_is_kept(
    tmp_path, monkeypatch, earlier, intruder, exchange
):
    """Campaign 31 (D7): a file of the user's copied to an unnamed rejects path between the
    commit's check and the rename was replaced, exit 0. The user's file (or link) comes back
    at once and the commit is refused; without renameat2 a hard link puts ours only where
    nothing is."""
    from ba_io import default_rejects, jsonio

    if exchange == "fallback":
        monkeypatch.setenv("BA_IO_NO_EXCHANGE", "1")
        jsonio._renameat2.cache_clear()
    elif jsonio._renameat2() is None:
        pytest.skip("this platform has no renameat2: the fallback case covers it")
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    out = tmp_path / "out.jsonl"
    rejects = Path(default_rejects(out))
    if earlier is not None:
        rejects.write_text(earlier)
    real = jsonio.recheck_at_commit

    def user_acts_after_the_check(target, *rest):
        real(target, *rest)
        if Path(target) == rejects:
            rejects.unlink(missing_ok=True)
            rejects.write_text("my notes\n") if intruder == "file" else rejects.symlink_to("notes.txt")

    monkeypatch.setattr(jsonio, "recheck_at_commit", user_acts_after_the_check)
    try:
        with pytest.raises(UsageError, match=r"out\.rejects\.jsonl exists and is not a rejects file"):
            with output_group():
                write_jsonl(out, [{"id": "a"}])
                write_jsonl(rejects, [])
    finally:
        jsonio._renameat2.cache_clear()
    assert notes.read_text() == "my notes\n" and not out.exists()
    assert rejects.is_symlink() if intruder == "link" else rejects.read_text() == "my notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "out.rejects.jsonl"]


def test_a_checked_rename_replaces_an_earlier_output_and_fills_an_empty_place(tmp_path):
    """The checked rename's ordinary cases: nothing there, an earlier rejects file there
    (replaced, nothing left beside it), and a path checked by no one (a plain rename)."""
    from ba_io import default_rejects, rename_rechecked

    rejects = Path(default_rejects(tmp_path / "o.jsonl"))
    for before in (None, '{"reason": "old"}\n'):
        if before is not None:
            rejects.write_text(before)
        src = tmp_path / "new.part"
        src.write_text('{"reason": "new"}\n')
        rename_rechecked(src, rejects)
        assert rejects.read_text() == '{"reason": "new"}\n' and not src.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["o.rejects.jsonl"]
    src, plain = tmp_path / "a.part", tmp_path / "plain.txt"
    src.write_text("x")
    plain.write_text("old")
    rename_rechecked(src, plain)
    assert plain.read_text() == "x"


def test_a_side_output_is_checked_again_when_it_is_committed(tmp_path):
    """Campaign 30: a file of the user's copied to `compare`'s `DIR/comparison.md` (or
    `benchmark`'s `REPORT.md`) while it ran was replaced, exit 0; a link put there is refused."""
    from ba_io import check_side_output, first_line_is, write_text

    md = tmp_path / "R.md"
    check_side_output(md, "a report's Markdown", first_line_is("# Report"))
    for intruder in ("file", "link"):
        (tmp_path / "notes.txt").write_text("my notes\n")
        if intruder == "file":
            md.write_text("my notes\n")
        else:
            md.symlink_to("notes.txt")
        with pytest.raises(
            UsageError, match=r"R\.md exists and is not a report's Markdown .*nothing was written there"
        ):
            with output_group():
                write_text(tmp_path / "R.json", "{}")
                write_text(md, "# Report\n")
        assert (tmp_path / "notes.txt").read_text() == "my notes\n" and not (tmp_path / "R.json").exists()
        md.unlink()
    md.write_text("# Report\nan earlier run's\n")
    write_text(md, "# Report\nnew\n")  # its own earlier output is still replaced
    assert md.read_text() == "# Report\nnew\n"


def test_a_replaced_folder_and_a_side_folder_are_checked_again_at_the_commit(tmp_path):
    """Campaign 31: a file the user added inside an earlier export while `export` ran was
    deleted with the folder, and a link put at compare's DIR/scored mid-run was written through."""
    import json as _json

    from ba_io import atomic_path, check_replaceable_folder, check_side_folder, write_text

    out = tmp_path / "E"
    out.mkdir()
    (out / "data.jsonl").write_text("old\n")
    (out / "export.json").write_text(_json.dumps({"files": ["data.jsonl"]}))
    check_replaceable_folder(out, flag="-o", manifest="export.json", tool="x export")
    (out / "mine.txt").write_text("mine\n")  # the user, while the command runs
    with pytest.raises(UsageError, match=r"holds files x export did not write \(mine\.txt\)"):
        with atomic_path(out, directory=True) as tmp:
            (tmp / "data.jsonl").write_text("new\n")
    assert (out / "mine.txt").read_text() == "mine\n" and (out / "data.jsonl").read_text() == "old\n"

    scored, keep = tmp_path / "CM" / "scored", tmp_path / "keep"
    check_side_folder(scored, "the scored files")
    keep.mkdir()
    (keep / "b.jsonl").write_text("mine\n")
    scored.parent.mkdir()
    scored.symlink_to(keep)  # mid-run
    with pytest.raises(UsageError, match="is a symbolic link, and it is where the scored files goes"):
        write_text(scored / "b.jsonl", "scored\n")
    assert (keep / "b.jsonl").read_text() == "mine\n"


def test_a_link_put_or_repointed_at_a_replaced_folder_mid_run_is_refused(tmp_path):
    """Campaign 32: `ba-dataset-tools export -o E` / `ba-lora merge -o M` with a link
    `E -> keep` made while the command ran: the commit followed the link and replaced the
    user's folder `keep` (its files deleted), exit 0; the check had looked at E alone."""
    from ba_io import atomic_path, check_replaceable_folder

    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "thesis.txt").write_text("my thesis\n")
    out = tmp_path / "E"
    check_replaceable_folder(out, flag="-o", manifest="export.json", tool="x export")
    out.symlink_to(keep)  # the user, while the command runs
    with pytest.raises(UsageError, match=r"E: changed while the command ran \(it now leads to .*keep"):
        with atomic_path(out, directory=True) as tmp:
            (tmp / "data.jsonl").write_text("new\n")
    assert [p.name for p in keep.iterdir()] == ["thesis.txt"] and out.is_symlink()

    empty, link = tmp_path / "empty", tmp_path / "L"
    empty.mkdir()
    link.symlink_to(empty)
    check_replaceable_folder(link, flag="-o", manifest="export.json", tool="x export")
    link.unlink()
    link.symlink_to(keep)  # re-pointed while the command runs
    with pytest.raises(UsageError, match="changed while the command ran"):
        with atomic_path(link, directory=True) as tmp:
            (tmp / "data.jsonl").write_text("new\n")
    assert [p.name for p in keep.iterdir()] == ["thesis.txt"]
    link.unlink()
    link.symlink_to(empty)  # as checked: written through to the folder it leads to
    with atomic_path(link, directory=True) as tmp:
        (tmp / "data.jsonl").write_text("new\n")
    assert (empty / "data.jsonl").read_text() == "new\n" and link.is_symlink()


def test_what_a_checked_rename_moves_out_waits_where_no_sweep_or_reader_takes_it(tmp_path, monkeypatch):
    """Campaign 33: a kill between the exchange and the check left the user's file at the
    writer's tmp name (`F.rejects.jsonl.ba-io-PID.R.tmp`), and the next run's sweep deleted it;
    at synth's partial name, the earlier run's rejects were read as this run's. What the
    exchange moves out now waits at `NAME.ba-io-PID.R.swap`, which the sweep leaves alone."""
    import time as _time

    from ba_io import default_rejects, jsonio, paths, sweep_stale_tmp

    out = tmp_path / "out.jsonl"
    rejects = Path(default_rejects(out))
    rejects.write_text('{"reason": "an earlier run\'s"}\n')
    key = os.path.abspath(rejects)
    real, seen = paths._RECHECKS[key], []

    def recording(path, written):
        seen.append(path)
        real(path, written)

    monkeypatch.setitem(paths._RECHECKS, key, recording)
    write_jsonl(rejects, [])
    assert rejects.read_text() == "" and seen[-1].startswith(str(rejects) + ".ba-io-") and seen[-1].endswith(".swap")
    # a kill at that instant: the earlier file waits at such a name, its writer dead, an hour old
    left = Path(seen[-1].replace(f"-{os.getpid()}.", "-999999999."))
    left.write_text("the user's notes\n")
    os.utime(left, (_time.time() - 3600,) * 2)
    assert jsonio._leftover_pid(rejects, left, ".tmp") is None  # not a tmp file of a dead writer
    sweep_stale_tmp(rejects)
    assert left.read_text() == "the user's notes\n"


def test_a_group_refused_at_a_later_rename_puts_back_what_it_had_placed(tmp_path, monkeypatch):
    """Campaign 33: compare's group renamed comparison.html and .md, then its checked rename
    refused comparison.png (a chart the user had just saved there): the folder held the new
    pages beside the old report, and the error said nothing was written. Every file the group
    had put in place goes back now, and nothing is left beside them."""
    from ba_io import check_side_output, first_line_is, jsonio, write_text

    report, md, png = tmp_path / "R.json", tmp_path / "R.md", tmp_path / "R.png"
    check_side_output(md, "a report's Markdown", first_line_is("# Report"))
    check_side_output(png, "a report's figure", first_line_is("PNG ours"))
    old = {report: "{}\n", md: "# Report\nold\n", png: "PNG ours\nold\n"}
    for path, text in old.items():
        path.write_text(text)
    real = jsonio._place

    def the_user_saves_a_chart_just_before(tmp, target, *rest):
        if target == png:
            png.write_text("my own chart\n")
        return real(tmp, target, *rest)

    monkeypatch.setattr(jsonio, "_place", the_user_saves_a_chart_just_before)
    with pytest.raises(UsageError, match=r"R\.png exists and is not a report's figure"):
        with output_group():
            write_text(report, '{"new": 1}\n')
            write_text(png, "PNG ours\nnew\n")
            write_text(md, "# Report\nnew\n")  # renamed first (reverse order of writing)
    assert (report.read_text(), md.read_text(), png.read_text()) == ("{}\n", "# Report\nold\n", "my own chart\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["R.json", "R.md", "R.png"]


def test_an_earlier_output_a_killed_group_kept_is_swept_like_a_tmp_file(tmp_path):
    """A group's commit keeps each earlier output at `NAME.ba-io-PID.R.old` until its last
    file is in place; a kill there leaves it, and the next write removes it once its writer
    is gone, as it does a tmp file (a `.swap`, which may hold a user's file, it never does)."""
    import time as _time

    from ba_io import is_tmp_name, sweep_stale_tmp

    out = tmp_path / "o.jsonl"
    out.write_text("new\n")
    old = tmp_path / "o.jsonl.ba-io-999999999.abcd_123.old"
    swap = tmp_path / "o.jsonl.ba-io-999999999.abcd_124.swap"
    for p in (old, swap):
        p.write_text("earlier\n")
        os.utime(p, (_time.time() - 3600,) * 2)
    assert is_tmp_name(out, old.name) and not is_tmp_name(out, swap.name)
    assert sweep_stale_tmp(out) == [old] and swap.exists() and out.read_text() == "new\n"


def test_the_next_write_names_a_swap_a_killed_writer_left_once(tmp_path, capsys):
    """Campaign 34: after a kill inside a checked rename the user's file waits at
    `NAME.ba-io-PID.R.swap`, kept; the rerun exited 0 and never said where it was."""
    import time as _time

    out = tmp_path / "r.jsonl"
    swap = tmp_path / "r.jsonl.ba-io-999999999.abcd_124.swap"
    swap.write_text("my notes\n")
    os.utime(swap, (_time.time() - 3600,) * 2)
    for _ in range(2):
        with atomic_write(out) as f:
            f.write("x\n")
    err = capsys.readouterr().err
    assert err == (
        f"warning: {swap}: a run killed while it replaced r.jsonl left this file here (the earlier file "
        "there, or one of yours); it is kept: move it back or remove it\n"
    )
    assert swap.read_text() == "my notes\n"


def test_a_checked_rename_where_the_file_system_has_no_exchange_checks_in_place(tmp_path, monkeypatch):
    """A file system whose renameat2 takes no RENAME_EXCHANGE (EINVAL: some network file
    systems): an earlier rejects file is checked just before its rename and replaced, a
    user's file refused; nothing is left beside them."""
    from ba_io import default_rejects, jsonio

    monkeypatch.setattr(jsonio, "_exchange", lambda a, b: False)
    rejects = Path(default_rejects(tmp_path / "o.jsonl"))
    rejects.write_text('{"reason": "old"}\n')
    write_jsonl(rejects, [{"reason": "new"}])
    assert json.loads(rejects.read_text()) == {"reason": "new"}
    rejects.write_text("my notes\n")
    with pytest.raises(UsageError, match="exists and is not a rejects file"):
        write_jsonl(rejects, [])
    assert rejects.read_text() == "my notes\n" and sorted(p.name for p in tmp_path.iterdir()) == ["o.rejects.jsonl"]


def test_a_librarys_copy_of_a_tmp_file_a_kill_left_is_swept(tmp_path):
    """Campaign 36 (r4): ba-tune saves DSPy's program at `TMP.json` (DSPy picks its format by
    the suffix); a kill there left `P.program.json.ba-io-PID.R.tmp.json`, never swept."""
    import time as _time

    from ba_io import sweep_stale_tmp

    out = tmp_path / "P.program.json"
    stale = tmp_path / "P.program.json.ba-io-999999999.abcd_123.tmp.json"
    mine = tmp_path / "P.program.json.backup.tmp.json"  # not of our shape: the user's
    for p in (stale, mine):
        p.write_text("{}")
        os.utime(p, (_time.time() - 3600,) * 2)
    assert sweep_stale_tmp(out) == [stale] and mine.exists()


def test_a_commit_through_another_spelling_takes_the_same_lock(tmp_path, monkeypatch):
    """Campaign 36 (r6): `split --train-out x/../T.jsonl` (x a link to far/a) replaced
    far/T.jsonl at once while another run held far/T.jsonl.lock: its lock was taken at the
    path as read (./T.jsonl.lock)."""
    import ba_io.jsonio

    monkeypatch.setattr(ba_io.jsonio, "COMMIT_WAIT_S", 0.3)
    (tmp_path / "far" / "a").mkdir(parents=True)
    (tmp_path / "x").symlink_to(tmp_path / "far" / "a")
    real = tmp_path / "far" / "T.jsonl"
    real.write_text("theirs\n")
    other = _hold_lock_in_another_process(real, 5.0, tmp_path / "ready")
    try:
        with pytest.raises(UsageError, match="another run is writing it"):
            _write_pair(tmp_path / "x" / ".." / "T.jsonl", tmp_path / "V.jsonl", "mine\n")
    finally:
        other.kill()
        other.wait()
    assert real.read_text() == "theirs\n" and not (tmp_path / "V.jsonl").exists()


def test_a_commit_into_a_pinned_folder_re_pointed_mid_run_is_refused(tmp_path):
    """Campaign 39: `ba-lora train -o out/A` with `out -> run1` re-pointed mid-run at a
    folder holding an earlier run's `A` wrote its files there. A folder pinned when the
    command began refuses every commit into it once it leads elsewhere; the earlier file
    is kept, and commits into folders not pinned go on."""
    from ba_io import check_pinned_folder, pin_folder, write_json

    run1, keep = tmp_path / "run1", tmp_path / "keep"
    (run1 / "A").mkdir(parents=True)
    (keep / "A").mkdir(parents=True)
    (keep / "A" / "info.json").write_text('{"run": "earlier"}\n')
    out = tmp_path / "out"
    out.symlink_to(run1)
    pin_folder(out / "A", again=True)
    write_json(out / "A" / "info.json", {"run": "this"})  # still where it led
    assert json.loads((run1 / "A" / "info.json").read_text()) == {"run": "this"}
    out.unlink()
    out.symlink_to(keep)  # mid-run
    with pytest.raises(UsageError, match=r"out/A: now leads to .*keep/A, not to .*run1/A where this run began"):
        write_json(out / "A" / "info.json", {"run": "this"})
    with pytest.raises(UsageError, match="point it back"):
        check_pinned_folder(out / "A" / "sub" / "x.bin")
    assert (keep / "A" / "info.json").read_text() == '{"run": "earlier"}\n'
    write_json(tmp_path / "elsewhere.json", {"run": "this"})  # outside the pinned folder
    write_json(out / "A-notes.json", {"run": "this"})  # a name that only starts like the pinned one
    assert (keep / "A-notes.json").exists()


def test_a_pinned_folder_spelled_through_a_link_and_dot_dot_is_the_folder_the_kernel_writes(tmp_path, monkeypatch):
    """Campaign 40 (D3): `ba-lora train -o latest/../r3/A` (latest -> runs/r1) was refused
    mid-run as re-pointed when nothing moved: the pin collapsed `latest/..` as text and
    looked at `r3/A`. A pinned folder is the one its spelling leads to, `..` after the link;
    re-pointing the link at a folder whose `../r3/A` is another is still refused."""
    from ba_io import pin_folder, write_json

    monkeypatch.chdir(tmp_path)
    for folder in ("runs/r1", "runs/r3/A", "other/x", "other/r3/A"):
        (tmp_path / folder).mkdir(parents=True)
    Path("latest").symlink_to("runs/r1")
    pin_folder("latest/../r3/A", again=True)
    write_json("latest/../r3/A/info.json", {"run": "this"})
    assert (tmp_path / "runs" / "r3" / "A" / "info.json").exists()
    Path("latest").unlink()
    Path("latest").symlink_to("other/x")  # mid-run: latest/../r3/A is now other/r3/A
    with pytest.raises(UsageError, match="now leads to .*other/r3/A"):
        write_json("latest/../r3/A/info.json", {"run": "this"})
    assert list((tmp_path / "other" / "r3" / "A").iterdir()) == []


@pytest.mark.parametrize("how", ["symlink", "hardlink"])
def test_an_own_working_file_is_never_opened_through_a_link(tmp_path, how):
    """Campaign 40 (D1): a command's own working file (synth's `OUT.partial`) opened by name
    followed a link put there and appended the rows to the user's file."""
    from ba_io import JsonlAppender

    mine, partial = tmp_path / "mine.log", tmp_path / "O.jsonl.partial"
    mine.write_text("my notes\n")
    if how == "symlink":
        partial.symlink_to(mine)
    else:
        os.link(mine, partial)
    with pytest.raises(UsageError, match=r"O.jsonl.partial: is a (symbolic link|file with other names).*move it away"):
        JsonlAppender(partial, own=True)
    assert mine.read_text() == "my notes\n"
    partial.unlink()
    with JsonlAppender(partial, own=True) as out:  # its own file: opened and appended to
        out.append({"id": "a"})
        out.check_unchanged()
    assert partial.read_text() == '{"id":"a"}\n'


def test_a_folder_moved_away_while_its_file_is_written_is_one_error_naming_the_file(tmp_path):
    """Campaign 40 (D7): `mv A/checkpoints/best best-so-far` while ba-lora saved the best
    adapter there ended in an internal FileNotFoundError, exit 1. It is one error naming
    the file; the folder moved away keeps what it held."""
    from ba_io import atomic_write

    best = tmp_path / "best"
    best.mkdir()
    (best / "notes.txt").write_text("mine\n")
    with pytest.raises(UsageError, match=r"best/adapter.json: its folder was moved or removed while the command ran"):
        with atomic_write(best / "adapter.json") as f:
            f.write("{}\n")
            os.rename(best, tmp_path / "best-so-far")
    moved = tmp_path / "best-so-far"
    # kept, and nothing of ours beside it (campaign 41: the tmp file stayed there for good)
    assert sorted(p.name for p in moved.iterdir()) == ["notes.txt"]
    assert (moved / "notes.txt").read_text() == "mine\n"


def test_a_file_too_large_for_the_file_system_is_a_usage_error_naming_it(tmp_path, monkeypatch):
    """Campaign 40 (D1): under `ulimit -f` (or FAT32's 4 GiB) a write failed with
    "File too large" as an internal error, exit 1; it is the user's to fix, like a full disk."""
    from ba_io import JsonlAppender, run_cli

    def too_large(argv):
        raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), "o.jsonl")

    assert run_cli(too_large, []) == 2
    with JsonlAppender(tmp_path / "p.jsonl") as out:
        out.append({"id": "a"})

        def efbig(*a):
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))

        monkeypatch.setattr(out._file, "write", efbig)
        with pytest.raises(UsageError, match=r"p.jsonl: File too large; the rows it held before this one are kept"):
            out.append({"id": "b"})


@pytest.mark.parametrize("suffix", [".tmp", ".old", ".swap", ".aside", ".tmp.json"])
def test_an_output_at_a_name_ba_io_keeps_for_its_tmp_files_is_refused(tmp_path, suffix):
    """Campaign 40 (D3): `fix -o O.jsonl.ba-io-30001.abcd1234.tmp` (pid 30001 gone) was
    written, exit 0, and the next `fix -o O.jsonl` deleted it as a killed writer's tmp file.
    Such names are refused like a commit journal's; a name of the user's that only ends in
    `.tmp` is an output like any other."""
    import argparse

    from ba_io import atomic_write
    from ba_io.cli_types import output_path

    out = tmp_path / f"O.jsonl.ba-io-30001.abcd1234{suffix}"
    with pytest.raises(argparse.ArgumentTypeError, match="a name ba-io keeps for the tmp files of its writes"):
        output_path(str(out))
    with pytest.raises(UsageError, match="a name ba-io keeps for the tmp files of its writes"):
        with atomic_write(out) as f:
            f.write("x\n")
    assert list(tmp_path.iterdir()) == []
    for name in ("O.jsonl.tmp", "O.ba-io-notes.tmp", "O.jsonl.ba-io-1.abc.tmp"):
        assert output_path(str(tmp_path / name)) == str(tmp_path / name)
        with atomic_write(tmp_path / name) as f:
            f.write("x\n")
        assert (tmp_path / name).read_text() == "x\n"


@pytest.mark.parametrize(
    "name",
    ["x.jsonl.lock", "raw.jsonl.partial", "s.jsonl.ba-metric-999999.abcdefgh.tmp", "E.ba-io-99999.abcdefgh.aside"],
)
def test_an_output_at_a_lock_partial_or_other_tools_tmp_name_is_refused_file_or_folder(tmp_path, name):
    """Campaign 41: `fix -o x.jsonl.lock` had every later write of x.jsonl refused; an output
    at `NAME.partial` was taken by the next `synth -o NAME` for its own rows and deleted; one
    at ba-metric's tmp name was deleted by its next `score`; `ba-lora train -o
    E.ba-io-99999.abcdefgh.aside` and `iterate-start --dir` at such a name were removed whole
    by the next write of E. Every file and folder output refuses them."""
    import argparse

    from ba_io import check_not_reserved
    from ba_io.cli_types import output_folder_path, output_path

    for kind in (output_path, output_folder_path):
        with pytest.raises(argparse.ArgumentTypeError, match="is a name ba-io keeps for"):
            kind(str(tmp_path / name))
    with pytest.raises(UsageError, match="--output .*a name ba-io keeps for"):
        check_not_reserved(tmp_path / name, "--output")
    for fine in ("poetry-lock.json", "x.locked", "partial.jsonl", "notes.ba-metric.tmp"):
        assert output_path(str(tmp_path / fine)) == str(tmp_path / fine)
        check_not_reserved(tmp_path / fine, "--output")


@pytest.mark.parametrize("spelling", ["X.lock/.", "X.lock/sub/..", "X.partial/./", "link"])
def test_a_folder_output_reaching_a_reserved_name_by_any_spelling_is_refused(tmp_path, spelling):
    """Campaign 42 (B D6): folder outputs checked the last part as written, so `-o X.lock/.`
    and `-o X.lock/sub/..` (X.lock to pathlib and the kernel) made a folder at X's lock name
    and every later write of X was refused. A link to such a name is refused too."""
    import argparse

    from ba_io import check_not_reserved
    from ba_io.cli_types import output_folder_path

    (tmp_path / "X.lock" / "sub").mkdir(parents=True)
    (tmp_path / "X.partial").mkdir()
    (tmp_path / "link").symlink_to("X.lock")
    path = str(tmp_path / spelling)
    with pytest.raises(argparse.ArgumentTypeError, match="is a name ba-io keeps for"):
        output_folder_path(path)
    with pytest.raises(UsageError, match="a name ba-io keeps for"):
        check_not_reserved(path, "--output")
    for fine in ("run/.", "run/sub/..", "X.lock/sub"):  # a folder inside a reserved-looking one is fine
        (tmp_path / "run" / "sub").mkdir(parents=True, exist_ok=True)
        assert output_folder_path(str(tmp_path / fine)) == str(tmp_path / fine)


def test_a_replace_the_kernel_refuses_leaves_no_kept_copy_beside_the_target(tmp_path, monkeypatch):
    """Campaign 42 (A D2): a group commit refused at its exchange (`chattr +i` on the earlier
    rejects file: EPERM) failed cleanly but left the new file at `NAME.ba-io-PID.RANDOM.old`
    beside the target, which an immediate rerun kept. Nothing of the failed write is left."""
    from ba_io import jsonio, output_group, write_text

    for name in ("T.jsonl", "V.jsonl"):
        (tmp_path / name).write_text("old\n")

    def refused(a, b):
        raise PermissionError(errno.EPERM, "Operation not permitted", str(b))

    monkeypatch.setattr(jsonio, "_exchange_existing", refused)
    with pytest.raises(OSError, match="Operation not permitted"):
        with output_group():
            for name in ("T.jsonl", "V.jsonl"):
                write_text(tmp_path / name, "new\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["T.jsonl", "V.jsonl"]
    assert all((tmp_path / n).read_text() == "old\n" for n in ("T.jsonl", "V.jsonl"))


def test_a_group_whose_folder_is_moved_away_mid_write_is_one_error_naming_its_files(tmp_path):
    """Campaign 41 (D7): `split --train-out sub/T.jsonl --val-out sub/V.jsonl` with `mv sub
    sub2` mid-write was an internal FileNotFoundError, exit 1. It is one usage error naming
    the outputs; the folder moved away keeps what it held."""
    from ba_io import atomic_write, output_group

    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "notes.txt").write_text("mine\n")
    with pytest.raises(UsageError, match=r"sub/T.jsonl, .*sub/V.jsonl: a folder of these was moved or removed"):
        with output_group():
            for name in ("T.jsonl", "V.jsonl"):
                with atomic_write(sub / name) as f:
                    f.write('{"id":"a"}\n')
            os.rename(sub, tmp_path / "sub2")
    assert (tmp_path / "sub2" / "notes.txt").read_text() == "mine\n" and not sub.exists()
    assert sorted(p.name for p in (tmp_path / "sub2").iterdir()) == ["notes.txt"]  # no tmp file of ours left


@pytest.mark.parametrize("directory", [False, True])
def test_a_tmp_whose_folder_moved_away_is_removed_from_where_the_folder_went(tmp_path, directory):
    """Campaign 41 (B r5): the commit of a write whose folder was moved mid-write removed its
    tmp by the old path, so the tmp file (the adapter's bytes) stayed in the user's moved
    folder for good. Also when the block itself fails: nothing of ours stays there."""
    from ba_io import atomic_path

    for fails in (False, True):
        best = tmp_path / "best"
        best.mkdir()
        (best / "notes.txt").write_text("mine\n")
        with pytest.raises((UsageError, RuntimeError)):
            with atomic_path(best / "adapter", directory=directory) as tmp:
                (tmp / "weights").write_text("w") if directory else tmp.write_text("w")
                os.rename(best, tmp_path / "moved")
                if fails:
                    raise RuntimeError("the writer failed")
        assert sorted(p.name for p in (tmp_path / "moved").iterdir()) == ["notes.txt"]
        shutil.rmtree(tmp_path / "moved")


def test_an_output_under_a_dangling_link_is_one_error_naming_the_link(tmp_path):
    """Campaign 41 (A D2): `iterate-start --dir L` with L a link to a missing folder was an
    internal FileExistsError, exit 1."""
    from ba_io import write_json

    (tmp_path / "L").symlink_to(tmp_path / "missing" / "x")
    with pytest.raises(UsageError, match=r"L: a symbolic link to a missing folder"):
        write_json(tmp_path / "L" / "adopted.json", {"round": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["L"]
