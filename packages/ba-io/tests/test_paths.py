"""#17.5: an output path that is an input path (or another output) is refused before anything
is read or written."""

from __future__ import annotations

import os
import shutil

import pytest
from test_cli import ba_io_cli

from ba_io import UsageError, distinct_paths


def test_distinct_paths_sees_through_links_and_dots(tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_text("{}\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    os.symlink(a, tmp_path / "link.jsonl")
    os.link(a, tmp_path / "hard.jsonl")
    distinct_paths(("the input", a), ("-o", tmp_path / "b.jsonl"), ("--rejects", None))
    for other in (a, tmp_path / "sub" / ".." / "a.jsonl", tmp_path / "link.jsonl", tmp_path / "hard.jsonl"):
        with pytest.raises(UsageError, match=r"^the input and -o are the same file .*give -o a path of its own$"):
            distinct_paths(("the input", a), ("-o", other))
    with pytest.raises(UsageError, match="^-o and --rejects are the same file"):
        distinct_paths(("the input", a), ("-o", tmp_path / "new.jsonl"), ("--rejects", tmp_path / "new.jsonl"))


@pytest.mark.parametrize(
    "args",
    [
        ["--rejects", "in.jsonl"],
        ["-o", "in.jsonl"],
        ["--rejects", "out.jsonl", "-o", "out.jsonl"],
    ],
)
def test_validate_never_writes_over_its_input_or_its_other_output(data_dir, tmp_path, args):
    shutil.copy(data_dir / "mixed.jsonl", tmp_path / "in.jsonl")
    before = (tmp_path / "in.jsonl").read_bytes()
    r = ba_io_cli("validate", "in.jsonl", "--schema", "requirement-document", *args, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith("Error: ") and "are the same file" in r.stderr and r.stderr.count("\n") == 1
    assert (tmp_path / "in.jsonl").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_a_folder_is_replaceable_only_when_new_empty_or_holding_its_manifests_files(tmp_path):
    import json

    from ba_io import check_replaceable_folder

    rule = dict(flag="-o", manifest="made.json", tool="the tool")
    check_replaceable_folder(tmp_path / "new", **rule)
    (tmp_path / "empty").mkdir()
    check_replaceable_folder(tmp_path / "empty", **rule)
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "a.txt").write_text("x")
    (ours / "made.json").write_text(json.dumps({"files": ["a.txt", "made.json"]}))
    check_replaceable_folder(ours, **rule)
    (ours / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match=r"^-o .*ours: holds files the tool did not write \(notes.txt\)"):
        check_replaceable_folder(ours, **rule)
    user = tmp_path / "user"
    user.mkdir()
    (user / "a.txt").write_text("mine")
    with pytest.raises(UsageError, match=r"did not write \(a.txt\)"):
        check_replaceable_folder(user, **rule)
    check_replaceable_folder(user, **rule, legacy=frozenset({"a.txt", "b.txt"}))  # an older version's output
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="exists and is not a folder"):
        check_replaceable_folder(tmp_path / "file", **rule)


def test_a_file_added_inside_a_listed_folder_is_found_and_an_old_manifest_keeps_its_folders(tmp_path):
    """Campaign 14: a re-export replaced the split folders whole, deleting a file the user
    had put inside ``train/``; a manifest written by folder_files lists every file."""
    import json

    from ba_io import check_replaceable_folder, folder_files

    rule = dict(flag="-o", manifest="made.json", tool="the tool")
    out = tmp_path / "out"
    (out / "train" / "deep").mkdir(parents=True)
    (out / "train" / "data.arrow").write_text("x")
    (out / "train" / "deep" / "state.json").write_text("{}")
    (out / "card.md").write_text("x")
    (out / "link").symlink_to(out / "train")  # a link is a file of the manifest, never followed
    assert folder_files(out) == ["card.md", "link", "train/data.arrow", "train/deep/state.json"]
    (out / "made.json").write_text(json.dumps({"files": [*folder_files(out), "made.json"]}))
    # campaign 20: no command writes links into its folder, so a link at a listed name is the user's
    with pytest.raises(UsageError, match=r"did not write \(link\)"):
        check_replaceable_folder(out, **rule)
    (out / "link").unlink()
    check_replaceable_folder(out, **rule)
    (out / "train" / "deep" / "mine.txt").write_text("mine")
    (out / "train" / "extra").mkdir()
    with pytest.raises(UsageError, match=r"did not write \(train/deep/mine.txt, train/extra\)"):
        check_replaceable_folder(out, **rule)
    (out / "made.json").write_text(json.dumps({"files": ["card.md", "train"]}))  # an older manifest
    with pytest.raises(UsageError, match=r"did not write \(train\)"):  # a folder only where one was listed
        check_replaceable_folder(out, **rule)
    check_replaceable_folder(out, **rule, legacy_folders=frozenset({"train"}))
    # campaigns 19 and 20: a folder where the manifest lists a file is the user's, dotted or not
    for name in ("card.md", "Modelfile"):
        (out / "made.json").write_text(json.dumps({"files": ["card.md", "Modelfile", "train"]}))
        (out / name).unlink(missing_ok=True)
        (out / name).mkdir()
        (out / name / "notes.txt").write_text("mine")
        with pytest.raises(UsageError, match=rf"did not write \([^)]*{name}"):
            check_replaceable_folder(out, **rule, legacy_folders=frozenset({"train"}))
        assert (out / name / "notes.txt").read_text() == "mine"


def test_default_rejects_replaces_only_a_rejects_file(tmp_path):
    """The one rejects-path rule: a named path is taken as given; an unnamed one is OUT with
    .rejects.jsonl and may replace only nothing or an earlier rejects file."""
    from ba_io import UsageError, default_rejects

    out = tmp_path / "data.jsonl"
    assert default_rejects(out, tmp_path / "mine.jsonl") == str(tmp_path / "mine.jsonl")
    assert default_rejects(out) == str(tmp_path / "data.rejects.jsonl")
    # campaign 31: `-o F` and `-o F.jsonl` shared F.rejects.jsonl; each output has its own
    assert default_rejects(tmp_path / "data.txt") == str(tmp_path / "data.txt.rejected.jsonl")
    assert default_rejects(tmp_path / "F") != default_rejects(tmp_path / "F.jsonl")
    rej = tmp_path / "data.rejects.jsonl"
    for ours in ("", '{"line": 2, "reason": "invalid JSON", "raw": "{"}\n\n{"id": "c1", "reason": "x"}\n'):
        rej.write_text(ours)
        assert default_rejects(out) == str(rej)
    for mine in ("notes\n", '{"line": 2}\n', "[1]\n", '{"reason": "x"}\nnot json\n'):
        rej.write_text(mine)
        with pytest.raises(UsageError, match="exists and is not a rejects file"):
            default_rejects(out)
        assert rej.read_text() == mine
    rej.unlink()
    rej.mkdir()
    with pytest.raises(UsageError):
        default_rejects(out)


def test_a_path_under_a_file_is_a_usage_error(tmp_path):
    from ba_io import UsageError, check_not_under_file, output_lock

    (tmp_path / "notes.txt").write_text("mine")
    for path in (tmp_path / "notes.txt" / "x", tmp_path / "notes.txt" / "x" / "y.jsonl"):
        with pytest.raises(UsageError, match="a folder on this path is a file"):
            check_not_under_file(path, "-o")
        with pytest.raises(UsageError, match=r"^.*notes.txt/x.*: a folder on this path is a file"):
            with output_lock(path):
                pass
    check_not_under_file(tmp_path / "new" / "x")  # a missing folder is not a file
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_side_output_replaces_only_a_file_the_command_wrote(tmp_path):
    """Campaign 15: REPORT.md and OUT.program.json beside -o replaced a user's file there."""
    from ba_io import check_side_output, first_line_is, json_object_with

    check_side_output(tmp_path / "none.md", "a report", first_line_is("# Report"))  # nothing there
    (tmp_path / "ours.md").write_text("# Report\nbody\n", encoding="utf-8")
    check_side_output(tmp_path / "ours.md", "a report", first_line_is("# Report"))
    (tmp_path / "mine.md").write_text("# my notes\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"mine.md exists and is not a report \(a file of yours\?\)"):
        check_side_output(tmp_path / "mine.md", "a report", first_line_is("# Report"))
    (tmp_path / "bytes.md").write_bytes(b"\xff\xfe")
    with pytest.raises(UsageError):
        check_side_output(tmp_path / "bytes.md", "a report", first_line_is("# Report"))
    (tmp_path / "s.json").write_text('{"metadata": {}, "x": 1}', encoding="utf-8")
    check_side_output(tmp_path / "s.json", "a state", json_object_with("metadata"))
    (tmp_path / "link.json").symlink_to(tmp_path / "s.json")  # a link is never taken for ours
    for name, text in (("l.json", "[1]"), ("t.json", "not json"), ("link.json", None)):
        if text is not None:
            (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(UsageError):
            check_side_output(tmp_path / name, "a state", json_object_with("metadata"))
    # campaign 16: a dotted key names nested objects, so {"metadata": ...} alone is not enough
    nested = json_object_with("metadata.versions.dspy")
    (tmp_path / "n.json").write_text('{"metadata": {"versions": {"dspy": "3.0"}}}', encoding="utf-8")
    check_side_output(tmp_path / "n.json", "a state", nested)
    for i, text in enumerate(('{"metadata": {}}', '{"metadata": {"versions": ["dspy"]}}', '{"metadata": "x"}')):
        (tmp_path / f"n{i}.json").write_text(text, encoding="utf-8")
        with pytest.raises(UsageError, match="is not a state"):
            check_side_output(tmp_path / f"n{i}.json", "a state", nested)


def test_a_link_to_an_earlier_output_folder_is_checked_through(tmp_path):
    """Campaign 15: `-o LINK` to the command's own earlier folder was refused as "not a
    folder", though a link to a folder output is written through; the folder is what counts."""
    import json

    from ba_io import check_replaceable_folder

    rule = dict(flag="-o", manifest="made.json", tool="the tool")
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "made.json").write_text(json.dumps({"files": ["made.json"]}))
    (tmp_path / "link").symlink_to(ours)
    check_replaceable_folder(tmp_path / "link", **rule)
    (ours / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match=r"did not write \(notes.txt\)"):
        check_replaceable_folder(tmp_path / "link", **rule)
    mine = tmp_path / "mine"  # campaign 16: a manifest linked in from an earlier output vouched for the user's files
    mine.mkdir()
    (mine / "config.json").write_text("mine")
    (ours / "notes.txt").unlink()
    (ours / "made.json").write_text(json.dumps({"files": ["made.json", "config.json"]}))
    (mine / "made.json").symlink_to(ours / "made.json")
    with pytest.raises(UsageError, match=r"did not write"):
        check_replaceable_folder(mine, **rule)
    (tmp_path / "dangling").symlink_to(tmp_path / "nothing")
    with pytest.raises(UsageError, match="exists and is not a folder"):
        check_replaceable_folder(tmp_path / "dangling", **rule)


def test_a_link_put_at_an_output_mid_run_is_never_followed_to_an_input(tmp_path):
    """Campaign 37 (r2, r3): a link `V.jsonl -> in.jsonl` put at split's --val-out while it
    read its input (or at synth's -o) was written through and the input replaced, exit 0;
    given up front the same link is refused."""
    from ba_io import atomic_write, distinct_paths

    src, out, mine = tmp_path / "in.jsonl", tmp_path / "V.jsonl", tmp_path / "mine.jsonl"
    src.write_text("input\n")
    mine.write_text("mine\n")
    distinct_paths(("input", src), ("--val-out", out))
    out.symlink_to(src)  # mid-run
    with pytest.raises(UsageError, match=r"V\.jsonl: leads to .*in\.jsonl, which is this command.s input"):
        with atomic_write(out) as f:
            f.write("val\n")
    assert src.read_text() == "input\n" and out.is_symlink()
    out.unlink()
    out.symlink_to(mine)  # a link to a file the command never named is written through, as ever
    with atomic_write(out) as f:
        f.write("val\n")
    assert mine.read_text() == "val\n" and src.read_text() == "input\n"


def test_an_output_folder_re_pointed_at_an_inputs_folder_mid_run_is_refused(tmp_path):
    """Campaign 38 (r4): `out/` replaced by a link to `data/` while split read
    data/train.jsonl; --train-out out/train.jsonl was written onto the input, exit 0."""
    from ba_io import atomic_write, distinct_paths

    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    out.mkdir()
    src = data / "train.jsonl"
    src.write_text("input\n")
    distinct_paths(("input", src), ("--train-out", out / "train.jsonl"))
    out.rmdir()
    out.symlink_to(data)  # mid-run
    with pytest.raises(
        UsageError, match=r"out/train\.jsonl: leads to .*data/train\.jsonl, which is this command's input"
    ):
        with atomic_write(out / "train.jsonl") as f:
            f.write("train\n")
    assert src.read_text() == "input\n"


def test_a_checked_path_is_checked_at_the_commit_after_a_folder_above_it_is_re_pointed(tmp_path):
    """Campaign 38 (r5, r6): with `out -> run1` re-pointed to `keep` mid-run, the commit's
    check of an unnamed rejects path (keyed by the folder it resolved to) was skipped and
    the user's keep/O.rejects.jsonl was emptied."""
    from ba_io import default_rejects, write_jsonl

    run1, keep = tmp_path / "run1", tmp_path / "keep"
    run1.mkdir()
    keep.mkdir()
    (tmp_path / "out").symlink_to(run1)
    rejects = default_rejects(tmp_path / "out" / "O.jsonl", None)
    (keep / "O.rejects.jsonl").write_text("my notes\n")
    (tmp_path / "out").unlink()
    (tmp_path / "out").symlink_to(keep)  # mid-run
    with pytest.raises(UsageError, match="exists and is not a rejects file"):
        write_jsonl(rejects, [])
    assert (keep / "O.rejects.jsonl").read_text() == "my notes\n"
