import json
import os
import time
from pathlib import Path

import pytest

from ba_datagen import Draft, Teacher, TemplateTeacher, generate_concepts, partial_path, synth
from ba_io import DataError, UsageError, validate, write_jsonl


def _ids(path):
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_template_synth_writes_v1_rows(tmp_path):
    concepts = generate_concepts(12, seed=3)
    src, out, rej = tmp_path / "c.jsonl", tmp_path / "raw.jsonl", tmp_path / "raw.rejects.jsonl"
    write_jsonl(src, concepts, "concept")
    result = synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
    assert (result.total, result.written, result.rejected, result.resumed) == (12, 12, 0, 0)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [c["id"] for c in concepts]
    for row, concept in zip(rows, concepts):
        assert validate(row, "example-v1") == []
        assert row["teacher"] == "template" and row["concept"] == concept["concept"]
        assert row["domain"] == concept["domain"]
        assert row["functional_requirements"][0]["id"] == "FR001"
        assert "text" not in row
    assert rej.read_text() == ""
    assert not partial_path(out).exists()


def test_every_concept_ends_in_exactly_one_file(dg_data):
    result = synth("concepts_mixed.jsonl", "raw.jsonl", TemplateTeacher(), rejects="rej.jsonl", show_progress=False)
    assert (result.written, result.rejected) == (2, 1)
    assert _ids(dg_data / "raw.jsonl") == ["k1", "k3"]
    (reject,) = [json.loads(line) for line in (dg_data / "rej.jsonl").read_text().splitlines()]
    assert reject["id"] == "k2" and reject["line"] == 2
    assert reject["reason"] == "no facts: the template teacher writes from facts.product/features/actors"


def test_default_rejects_path(tmp_path):
    src = tmp_path / "c.jsonl"
    write_jsonl(src, generate_concepts(2, seed=1), "concept")
    synth(src, tmp_path / "raw.jsonl", TemplateTeacher(), show_progress=False)
    assert (tmp_path / "raw.rejects.jsonl").read_text() == ""


def test_bad_input_is_a_data_error(dg_data):
    with pytest.raises(DataError, match=r"^concepts_broken.jsonl:2: invalid JSON: Expecting value"):
        synth("concepts_broken.jsonl", "o.jsonl", TemplateTeacher(), show_progress=False)
    with pytest.raises(DataError, match=r"^concepts_dup_id.jsonl:2: duplicate id 'k1' \(first on line 1\)$"):
        synth("concepts_dup_id.jsonl", "o.jsonl", TemplateTeacher(), show_progress=False)
    with pytest.raises(UsageError, match="input file not found: nope.jsonl"):
        synth("nope.jsonl", "o.jsonl", TemplateTeacher(), show_progress=False)
    assert not (dg_data / "o.jsonl").exists()


class Flaky:
    """A template teacher that dies on its ``fail_on``-th call and records what it was asked."""

    name = "template"

    def __init__(self, fail_on=None, batch_size=2):
        self.batch_size, self.fail_on, self.calls, self.asked = batch_size, fail_on, 0, []

    def write(self, concepts):
        self.calls += 1
        if self.calls == self.fail_on:
            raise KeyboardInterrupt
        self.asked += [c["id"] for c in concepts]
        return TemplateTeacher().write(concepts)


def test_resume_after_interruption_skips_finished_rows(tmp_path):
    concepts = generate_concepts(9, seed=5)
    concepts[4] = {"id": concepts[4]["id"], "concept": concepts[4]["concept"]}  # no facts -> rejects
    src, out, rej = tmp_path / "c.jsonl", tmp_path / "raw.jsonl", tmp_path / "rej.jsonl"
    write_jsonl(src, concepts, "concept")
    assert isinstance(Flaky(), Teacher)
    first = Flaky(fail_on=4)
    with pytest.raises(KeyboardInterrupt):
        synth(src, out, first, rejects=rej, show_progress=False)
    assert not out.exists()  # only whole files appear under the final name
    assert first.asked == [c["id"] for c in concepts[:6]]
    assert len(partial_path(out).read_text().splitlines()) == 5
    assert len(partial_path(rej).read_text().splitlines()) == 1 and not rej.exists()
    # a run killed in the middle of a write leaves half a line behind (synth writes rows in
    # the compact form): it is cut, not kept
    with open(partial_path(out), "a") as f:
        f.write('{"id":"c0007","conc')
    second = Flaky()
    result = synth(src, out, second, rejects=rej, show_progress=False)
    assert second.asked == [c["id"] for c in concepts[6:]]
    assert (result.total, result.written, result.rejected, result.resumed) == (9, 8, 1, 6)
    written, rejected = _ids(out), _ids(rej)
    assert sorted(written + rejected) == sorted(c["id"] for c in concepts)
    assert rejected == [concepts[4]["id"]]
    for line in out.read_text().splitlines():
        assert validate(json.loads(line), "example-v1") == []


def test_resume_refuses_a_changed_input(tmp_path):
    concepts = generate_concepts(4, seed=2)
    src, out = tmp_path / "c.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(src, concepts, "concept")
    with pytest.raises(KeyboardInterrupt):
        synth(src, out, Flaky(fail_on=2), show_progress=False)
    write_jsonl(src, generate_concepts(4, seed=9), "concept")
    with pytest.raises(DataError, match=r"raw.jsonl.partial:1: concept 'c0001' differs from the input file"):
        synth(src, out, Flaky(), show_progress=False)
    result = synth(src, out, Flaky(), restart=True, show_progress=False)
    assert (result.written, result.resumed) == (4, 0)


def test_a_partial_file_with_a_row_twice_is_refused_and_kept(tmp_path):
    """Campaign 15: a partial file holding rows twice was resumed into an output with more
    rows than concepts (15 for 12), exit 0."""
    src, done, out = tmp_path / "c.jsonl", tmp_path / "done.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(src, generate_concepts(4, seed=2), "concept")
    synth(src, done, TemplateTeacher(), show_progress=False)
    head = "".join(done.read_text(encoding="utf-8").splitlines(True)[:2])
    partial_path(out).write_text(head + head, encoding="utf-8")
    with pytest.raises(DataError, match=r"raw.jsonl.partial:3: concept 'c0001' is here twice"):
        synth(src, out, TemplateTeacher(), show_progress=False)
    assert partial_path(out).read_text(encoding="utf-8") == head + head and not out.exists()
    result = synth(src, out, TemplateTeacher(), restart=True, show_progress=False)
    assert result.written == 4 and _ids(out) == _ids(done)


def test_fresh_run_after_a_finished_one_starts_over(tmp_path):
    src, out, rej = tmp_path / "c.jsonl", tmp_path / "raw.jsonl", tmp_path / "rej.jsonl"
    write_jsonl(src, generate_concepts(3, seed=2), "concept")
    synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
    teacher = Flaky(batch_size=8)
    result = synth(src, out, teacher, rejects=rej, show_progress=False)
    assert result.resumed == 0 and len(teacher.asked) == 3


def test_teacher_returning_wrong_count_is_an_error(tmp_path):
    class Short:
        name, batch_size = "short", 4

        def write(self, concepts):
            return [Draft(id=concepts[0]["id"], error="x")]

    src = tmp_path / "c.jsonl"
    write_jsonl(src, generate_concepts(2, seed=2), "concept")
    with pytest.raises(RuntimeError, match="returned 1 drafts for 2 concepts"):
        synth(src, tmp_path / "o.jsonl", Short(), show_progress=False)


def test_same_file_twice_is_a_usage_error(tmp_path):
    src = tmp_path / "c.jsonl"
    write_jsonl(src, generate_concepts(1), "concept")
    with pytest.raises(UsageError, match="are the same file"):
        synth(src, src, TemplateTeacher(), show_progress=False)


@pytest.mark.parametrize("target", ["out", "rejects", "partial"])
def test_the_teachers_prompt_file_is_never_an_output(tmp_path, target):
    """Campaign 19 (E5): `--prompt teacher.json --rejects ./teacher.json` replaced the user's
    prompt with the rejects, and `-o $PWD/teacher.json` with an empty file, exit 0."""
    src = tmp_path / "c.jsonl"
    write_jsonl(src, generate_concepts(2), "concept")
    prompt = tmp_path / "teacher.json"
    prompt.write_text('{"system": "keep me"}')
    out, rejects = tmp_path / "o.jsonl", None
    if target == "out":
        out = Path(os.path.abspath(prompt))  # another spelling of the same file
    elif target == "rejects":
        rejects = tmp_path / "." / "teacher.json"
    else:
        out = tmp_path / "o.jsonl"  # the prompt where the run keeps its partial output
        prompt = partial_path(out)
        prompt.write_text('{"system": "keep me"}')
    with pytest.raises(UsageError, match="--prompt and .* are the same file"):
        synth(src, out, TemplateTeacher(), rejects=rejects, prompt=prompt, show_progress=False)
    assert prompt.read_text() == '{"system": "keep me"}'


def test_a_second_run_on_the_same_output_is_refused_and_loses_nothing(tmp_path):
    """#17.1: two concurrent synth runs on one --out both printed success and left 18-57 of 3,000 rows."""
    from ba_io import output_lock

    src = tmp_path / "c.jsonl"
    write_jsonl(src, generate_concepts(6), "concept")
    out = tmp_path / "o.jsonl"
    with output_lock(out):  # the first run, still writing
        with pytest.raises(UsageError, match="another run is writing it"):
            synth(src, out, TemplateTeacher(), show_progress=False)
        assert not out.exists() and not partial_path(out).exists()
    result = synth(src, out, TemplateTeacher(), show_progress=False)
    assert result.written + result.rejected == 6 and len(out.read_text().splitlines()) == result.written
    # the campaign: two runs with their own --out but one --rejects clobbered each other's rejects
    rejects = tmp_path / "shared.rejects.jsonl"
    with output_lock(rejects):
        with pytest.raises(UsageError, match="another run is writing it"):
            synth(src, tmp_path / "other.jsonl", TemplateTeacher(), rejects=rejects, show_progress=False)


def test_a_run_that_fails_leaves_the_finished_rejects_of_the_last_run(tmp_path):
    """The campaign: a teacher that cannot load emptied the rejects file of the finished run."""
    concepts = generate_concepts(4, seed=3)
    concepts[1] = {"id": concepts[1]["id"], "concept": concepts[1]["concept"]}  # no facts -> rejected
    src, out, rej = tmp_path / "c.jsonl", tmp_path / "raw.jsonl", tmp_path / "rej.jsonl"
    write_jsonl(src, concepts, "concept")
    synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
    before = (out.read_bytes(), rej.read_bytes())
    assert len(rej.read_text().splitlines()) == 1

    class Unreachable:
        name, batch_size = "ollama:nosuch", 4

        def write(self, concepts):
            raise UsageError("Ollama is not reachable")

    with pytest.raises(UsageError):
        synth(src, out, Unreachable(), rejects=rej, show_progress=False)
    assert (out.read_bytes(), rej.read_bytes()) == before
    # ...and leaves no empty partial files behind: nothing to resume from
    assert not partial_path(out).exists() and not partial_path(rej).exists()


def test_an_empty_file_of_the_users_moved_onto_a_partial_file_before_a_failure_is_kept(tmp_path):
    """Campaign 43 (B r3): a run failing before its first row (Ctrl-C, a teacher that fails)
    removed both partial files by name when they were empty: an empty file of the user's
    moved onto OUT.partial meanwhile was deleted. Only the files the run opened are removed."""
    src, out = tmp_path / "c.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(src, generate_concepts(2, seed=3), "concept")
    mine = tmp_path / "mine.jsonl"
    mine.write_text("")

    class SwapsThenFails:
        name, batch_size = "ollama:nosuch", 4

        def write(self, concepts):
            os.rename(partial_path(out), tmp_path / "ours.partial")
            os.rename(mine, partial_path(out))  # the user's empty file, at the partial file's name
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        synth(src, out, SwapsThenFails(), show_progress=False)
    assert partial_path(out).is_file() and partial_path(out).read_text() == ""  # the user's, kept
    assert not partial_path(tmp_path / "raw.rejects.jsonl").exists()  # the run's own empty one, removed


def test_a_failure_after_some_rows_keeps_the_partial_file_to_resume_from(tmp_path):
    concepts = generate_concepts(4, seed=3)
    src, out = tmp_path / "c.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(src, concepts, "concept")
    template = TemplateTeacher()

    class DiesOnSecondBatch:
        name, batch_size, calls = template.name, 2, 0

        def write(self, batch):
            DiesOnSecondBatch.calls += 1
            if DiesOnSecondBatch.calls == 2:
                raise KeyboardInterrupt
            return template.write(batch)

    with pytest.raises(KeyboardInterrupt):
        synth(src, out, DiesOnSecondBatch(), show_progress=False)
    assert not out.exists() and len(partial_path(out).read_text().splitlines()) == 2
    result = synth(src, out, template, show_progress=False)
    assert result.resumed == 2 and result.written + result.rejected == 4


@pytest.mark.parametrize("side", ["partial", "rejects-partial", "lock"])
def test_an_input_that_is_a_side_file_of_an_output_is_refused_and_kept(tmp_path, side):
    """Campaign 3: `--in OUT.partial` was renamed onto OUT, `--restart` deleted it, `--in
    REJECTS.partial` was emptied, `--in OUT.lock` was truncated to a pid and deleted."""
    out, rej = tmp_path / "r.jsonl", tmp_path / "r.rejects.jsonl"
    src = {"partial": partial_path(out), "rejects-partial": partial_path(rej), "lock": tmp_path / "r.jsonl.lock"}[side]
    write_jsonl(src, generate_concepts(3, seed=1), "concept")
    before = src.read_bytes()
    for restart in (False, True):
        with pytest.raises(UsageError):
            synth(src, out, TemplateTeacher(), rejects=rej, restart=restart, show_progress=False)
        assert src.read_bytes() == before and not out.exists()


@pytest.mark.parametrize("kind", ["fifo", "folder", "link-to-fifo", "link-to-devnull"])
def test_an_output_that_is_not_a_file_is_refused_before_any_work(tmp_path, kind):
    """Campaign 3: synth renamed its rows over a FIFO, a device or a link to one (exit 0)."""
    src, out = tmp_path / "c.jsonl", tmp_path / "out"
    write_jsonl(src, generate_concepts(3, seed=1), "concept")
    if kind == "fifo":
        os.mkfifo(out)
    elif kind == "folder":
        out.mkdir()
    elif kind == "link-to-fifo":
        os.mkfifo(tmp_path / "fifo")
        out.symlink_to(tmp_path / "fifo")
    else:
        out.symlink_to("/dev/null")
    with pytest.raises(UsageError, match="nothing was written"):
        synth(src, out, TemplateTeacher(), show_progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["c.jsonl", "out", *(["fifo"] if kind == "link-to-fifo" else [])]
    )


def test_an_output_that_links_to_a_file_is_written_through(tmp_path):
    src = tmp_path / "c.jsonl"
    write_jsonl(src, generate_concepts(3, seed=1), "concept")
    (tmp_path / "run1.jsonl").write_text("old\n")
    (tmp_path / "latest.jsonl").symlink_to("run1.jsonl")
    result = synth(src, tmp_path / "latest.jsonl", TemplateTeacher(), show_progress=False)
    assert (tmp_path / "latest.jsonl").is_symlink()
    assert len((tmp_path / "run1.jsonl").read_text().splitlines()) == result.written


def test_an_unnamed_rejects_path_never_replaces_a_file_of_yours(tmp_path):
    """Campaign 5: without --rejects, synth emptied a file of the user's at OUT.rejects.jsonl.
    A rejects path the user did not name replaces only an earlier rejects file."""
    src, out = tmp_path / "c.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(src, generate_concepts(2, seed=1), "concept")
    mine = tmp_path / "raw.rejects.jsonl"
    mine.write_text("my notes\n")
    with pytest.raises(UsageError, match=r"raw.rejects.jsonl exists and is not a rejects file .* --rejects"):
        synth(src, out, TemplateTeacher(), show_progress=False)
    assert mine.read_text() == "my notes\n" and not out.exists() and not partial_path(out).exists()
    mine.write_text('{"id": "c9", "line": 3, "reason": "an earlier run\'s reject"}\n')  # a rejects file: ours
    synth(src, out, TemplateTeacher(), show_progress=False)
    assert mine.read_text() == "" and len(_ids(out)) == 2


def test_a_refused_partial_file_leaves_no_new_rejects_partial(tmp_path):
    """Campaign 5: refusing a partial output made for another input left a new, empty
    REJECTS.partial behind (the resume of an older version's run creates it)."""
    src, out, rej = tmp_path / "c.jsonl", tmp_path / "raw.jsonl", tmp_path / "rej.jsonl"
    write_jsonl(src, generate_concepts(4, seed=2), "concept")
    partial_path(out).write_text(
        json.dumps({"id": "c0001", "concept": "Another concept entirely.", "teacher": "template"}) + "\n"
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(DataError, match="differs from the input file"):
        synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("which", ["rejects-is-out-lock", "out-is-rejects-lock"])
def test_an_output_that_is_the_other_outputs_lock_is_refused(tmp_path, which):
    """Campaign 6: `--rejects OUT.lock` (or `-o REJECTS.lock`) exited 0 and the file was
    deleted with the lock at the end: the rows in it were lost."""
    src = tmp_path / "c.jsonl"
    write_jsonl(src, generate_concepts(3, seed=1), "concept")
    out, rej = tmp_path / "r.jsonl", tmp_path / "r.jsonl.lock"
    if which == "out-is-rejects-lock":
        out, rej = tmp_path / "x.jsonl.lock", tmp_path / "x.jsonl"
    with pytest.raises(
        UsageError, match="lock file and (-o|--rejects) are the same file .* give (-o|--rejects) a path"
    ):
        synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.jsonl"]


@pytest.mark.parametrize("side", ["out", "rejects"])
@pytest.mark.parametrize("text", ["my notes\nlast line, no newline", "my other notes\n", "not json at all"])
def test_a_file_of_yours_at_a_partial_path_is_refused_and_kept(tmp_path, side, text):
    """Campaign 6: a user's OUT.partial without a final newline was cut to its first line
    before it was refused, and a user's REJECTS.partial was emptied and renamed away."""
    src, out, rej = tmp_path / "c.jsonl", tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    write_jsonl(src, generate_concepts(3, seed=1), "concept")
    mine = partial_path(out if side == "out" else rej)
    mine.write_text(text)
    for restart in (False, True):
        with pytest.raises(UsageError, match="is not a partial file of synth"):
            synth(src, out, TemplateTeacher(), rejects=rej, restart=restart, show_progress=False)
        assert mine.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["c.jsonl", mine.name])


def test_a_torn_partial_of_a_killed_run_is_still_resumed(tmp_path):
    """The check above must not refuse what a killed run leaves: whole rows and a torn last one."""
    src, out, rej = tmp_path / "c.jsonl", tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    concepts = generate_concepts(4, seed=2)
    write_jsonl(src, concepts, "concept")
    synth(src, tmp_path / "whole.jsonl", TemplateTeacher(), rejects=tmp_path / "w.rej.jsonl", show_progress=False)
    lines = (tmp_path / "whole.jsonl").read_text().splitlines(keepends=True)
    partial_path(out).write_text("".join(lines[:2]) + lines[2][:25])
    partial_path(rej).write_text("")
    result = synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
    assert result.resumed == 2 and out.read_text() == (tmp_path / "whole.jsonl").read_text()


def test_a_refused_resume_leaves_the_partial_file_byte_identical(tmp_path):
    """Campaign 7: a partial file of another input whose last row lacked its newline was cut
    (as a torn line) before it was refused; every partial file is checked before any is cut."""
    src, out, rej = tmp_path / "c.jsonl", tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    write_jsonl(src, generate_concepts(3, seed=1), "concept")
    other = tmp_path / "other.jsonl"
    write_jsonl(other, generate_concepts(3, seed=5), "concept")
    synth(other, tmp_path / "o.jsonl", TemplateTeacher(), rejects=tmp_path / "o.rej.jsonl", show_progress=False)
    data = (tmp_path / "o.jsonl").read_bytes()[:-1]  # three whole rows, the last without its newline
    partial_path(out).write_bytes(data)
    partial_path(rej).write_bytes(b"")
    with pytest.raises(DataError, match="differs from the input file|not a row of this input"):
        synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
    assert partial_path(out).read_bytes() == data


@pytest.mark.parametrize("restart", [False, True])
def test_a_rejects_partial_without_its_out_partial_is_the_users(tmp_path, restart):
    """Campaign 7: a user's JSONL at REJECTS.partial (rows with an id, even a reason) was
    emptied and renamed away by a fresh run or --restart. A run makes and renames both
    partial files together, so one without OUT.partial beside it is never a run's."""
    src, out, rej = tmp_path / "c.jsonl", tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    concepts = generate_concepts(3, seed=1)
    write_jsonl(src, concepts, "concept")
    mine = partial_path(rej)
    text = json.dumps({"id": "c0001", "concept": concepts[0]["concept"], "teacher": "template", "reason": "mine"})
    mine.write_text(text + "\n")
    # campaign 16: the message called another run's partial rejects "a file of yours?"
    with pytest.raises(
        UsageError, match=r"holds the partial rejects of another synth run \(.*out\.jsonl\.partial does not"
    ):
        synth(src, out, TemplateTeacher(), rejects=rej, restart=restart, show_progress=False)
    assert mine.read_text() == text + "\n" and not out.exists() and not rej.exists()


def test_restart_moves_the_interrupted_run_aside_and_deletes_nothing(tmp_path, capsys):
    """Campaign 8: --restart deleted OUT.partial and REJECTS.partial, and with them a file of
    synth rows a user had placed there. It now moves each aside under a new name and says so."""
    concepts = generate_concepts(4, seed=2)
    src, out = tmp_path / "c.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(src, concepts, "concept")
    with pytest.raises(KeyboardInterrupt):
        synth(src, out, Flaky(fail_on=2), show_progress=False)
    before = partial_path(out).read_bytes()
    capsys.readouterr()
    for _ in range(2):  # twice: the second restart takes a new name, the first one is kept
        result = synth(src, out, Flaky(), restart=True, show_progress=False)
        assert (result.written, result.resumed) == (4, 0)
        if _ == 0:
            err = capsys.readouterr().err
            assert f"synth --restart: the interrupted run's 2 rows in {partial_path(out)} were moved to " in err
            partial_path(out).write_bytes(before)
    kept = sorted(tmp_path.glob("raw.jsonl.partial.discarded-*"))
    assert len(kept) == 2 and all(k.read_bytes() == before for k in kept)
    assert not partial_path(out).exists()


def test_a_link_at_a_partial_path_is_refused_and_its_target_kept(tmp_path):
    """Campaign 9: a symbolic link at OUT.partial made synth append its rows to (and cut the
    last line of) the user's file it pointed at."""
    src, out = tmp_path / "c.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, generate_concepts(3, seed=1), "concept")
    mine = tmp_path / "mine.jsonl"
    mine.write_text('{"id":"zz999","concept":"my own notes, unterminated')
    partial_path(out).symlink_to(mine)
    for restart in (False, True):
        with pytest.raises(UsageError, match="is a symbolic link"):
            synth(src, out, TemplateTeacher(), restart=restart, show_progress=False)
    assert mine.read_text() == '{"id":"zz999","concept":"my own notes, unterminated' and not out.exists()


@pytest.mark.parametrize(
    "tail", ['{"id":"zz999","concept":"mine"', '{"id":"c0002","concept":"my own different text', "my notes"]
)
def test_an_unfinished_last_line_of_another_input_is_not_cut(tmp_path, tail):
    """Campaign 9: on a resume, an unterminated last line that no run of this input could have
    written (an unknown id, another concept text) was cut silently; only synth's own torn
    row or reject of this input is cut."""
    src, out, rej = tmp_path / "c.jsonl", tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    write_jsonl(src, generate_concepts(3, seed=1), "concept")
    synth(src, tmp_path / "whole.jsonl", TemplateTeacher(), rejects=tmp_path / "w.rej.jsonl", show_progress=False)
    first = (tmp_path / "whole.jsonl").read_text().splitlines(keepends=True)[0]
    partial_path(out).write_text(first + tail)
    partial_path(rej).write_text("")
    before = partial_path(out).read_bytes()
    with pytest.raises((DataError, UsageError)):
        synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
    assert partial_path(out).read_bytes() == before


def test_the_side_files_of_a_linked_output_are_checked_where_they_are(tmp_path):
    """Campaign 10: with `--rejects LINK` (or `-o LINK`), synth checked LINK.partial but worked
    on TARGET.partial beside the file the link points at: a user's file there was emptied
    and renamed over the target, and an input at TARGET.partial was renamed onto TARGET."""
    src = tmp_path / "c.jsonl"
    write_jsonl(src, generate_concepts(3, seed=1), "concept")
    real = tmp_path / "real"
    real.mkdir()
    (real / "notes.jsonl").write_text('{"reason": "x"}\n')
    (real / "notes.jsonl.partial").write_text("precious user text\n")
    (tmp_path / "rej.jsonl").symlink_to(real / "notes.jsonl")
    with pytest.raises(UsageError, match="is not a partial file of synth"):
        synth(src, tmp_path / "out.jsonl", TemplateTeacher(), rejects=tmp_path / "rej.jsonl", show_progress=False)
    assert (real / "notes.jsonl.partial").read_text() == "precious user text\n"
    assert (real / "notes.jsonl").read_text() == '{"reason": "x"}\n'
    (real / "data.jsonl").write_text('{"old": 1}\n')
    write_jsonl(real / "data.jsonl.partial", generate_concepts(3, seed=2), "concept")
    (tmp_path / "link.jsonl").symlink_to(real / "data.jsonl")
    with pytest.raises(UsageError, match="are the same file"):
        synth(real / "data.jsonl.partial", tmp_path / "link.jsonl", TemplateTeacher(), show_progress=False)
    assert (real / "data.jsonl").read_text() == '{"old": 1}\n' and (real / "data.jsonl.partial").exists()


@pytest.mark.parametrize("kind", ["hardlink", "fifo"])
def test_a_partial_path_that_is_not_synths_own_file_is_refused(tmp_path, kind):
    """Campaign 10: a hard link at OUT.partial had the resume append into the user's other
    name of it; a FIFO there made synth hang reading it. Campaign 41: refusing the hard link
    also refused a `cp -al` snapshot's resume and --restart; synth now resumes from a copy of
    its own, and the other name keeps the file as it was."""
    src, out = tmp_path / "c.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, generate_concepts(3, seed=1), "concept")
    mine = tmp_path / "mybackup.jsonl"
    if kind == "hardlink":
        synth(src, tmp_path / "w.jsonl", TemplateTeacher(), rejects=tmp_path / "w.rej", show_progress=False)
        mine.write_text((tmp_path / "w.jsonl").read_text().splitlines(keepends=True)[0])
        os.link(mine, partial_path(out))
    else:
        os.mkfifo(partial_path(out))
    before = mine.read_bytes() if kind == "hardlink" else None
    if kind == "hardlink":
        result = synth(src, out, TemplateTeacher(), show_progress=False)
        assert result.resumed == 1 and result.written + result.rejected == 3
        assert mine.read_bytes() == before and os.stat(mine).st_nlink == 1
        return
    with pytest.raises(UsageError, match="synth's partial files are its own"):
        synth(src, out, TemplateTeacher(), show_progress=False)


def test_a_copy_of_a_hard_linked_partial_killed_mid_way_is_swept_by_the_next_run(tmp_path):
    """Campaign 41 (left over): the copy synth takes of a hard-linked partial file had a tmp
    name no run removed, so a kill during the copy left it for good. It has ba-io's tmp name
    now, and the next run sweeps it once its writer is gone."""
    import subprocess
    import sys

    src, out = tmp_path / "c.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, generate_concepts(3, seed=1), "concept")
    synth(src, tmp_path / "w.jsonl", TemplateTeacher(), rejects=tmp_path / "w.rej", show_progress=False)
    partial_path(out).write_text((tmp_path / "w.jsonl").read_text().splitlines(keepends=True)[0])
    killed = subprocess.run(  # a process that made the copy's tmp file and died before the rename
        [sys.executable, "-c", f"from ba_io import tmp_file; print(tmp_file({str(partial_path(out))!r})[1])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    os.utime(killed, (time.time() - 3600, time.time() - 3600))
    result = synth(src, out, TemplateTeacher(), show_progress=False)
    assert result.resumed == 1 and result.written + result.rejected == 3
    assert not os.path.lexists(killed)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["c.jsonl", "out.jsonl", "out.rejects.jsonl", "w.jsonl", "w.rej"]
    )


def test_an_output_that_is_a_file_of_the_teachers_model_is_refused(tmp_path):
    """Campaign 14: `synth --teacher hf:M -o M/config.json` emptied the model's config."""
    from ba_datagen import LLMTeacher

    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')
    src = tmp_path / "c.jsonl"
    write_jsonl(src, generate_concepts(2, seed=1), "concept")
    for out, rej in ((model / "config.json", tmp_path / "r.jsonl"), (tmp_path / "o.jsonl", model / "x.jsonl")):
        with pytest.raises(UsageError, match="is a file of the model"):
            synth(src, out, LLMTeacher(f"hf:{model}"), rejects=rej, show_progress=False)
    assert (model / "config.json").read_text() == '{"model_type": "llama"}'
    assert sorted(p.name for p in model.iterdir()) == ["config.json"]


def test_a_run_sharing_another_runs_rejects_is_told_about_the_lock(tmp_path):
    """Campaign 15: a second synth with the same --rejects (another -o) was refused with
    "not a partial file of synth (a file of yours?)" instead of naming the running one."""
    from ba_io import output_lock

    src, rej = tmp_path / "c.jsonl", tmp_path / "r.jsonl"
    write_jsonl(src, generate_concepts(3, seed=2), "concept")
    partial_path(rej).write_text("", encoding="utf-8")  # the running run's rejects partial
    with output_lock(rej), pytest.raises(UsageError, match=r"r.jsonl: another run is writing it"):
        synth(src, tmp_path / "b.jsonl", TemplateTeacher(), rejects=rej, show_progress=False)
    assert not (tmp_path / "b.jsonl").exists() and not partial_path(tmp_path / "b.jsonl").exists()


def _killed_after_its_first_row(tmp_path):
    """The partial files a synth run of 3 concepts leaves when killed after its first row:
    (concepts, input, OUT, REJECTS, that first row)."""
    concepts = generate_concepts(3, seed=5)
    src, out, rej = tmp_path / "c.jsonl", tmp_path / "raw.jsonl", tmp_path / "rej.jsonl"
    write_jsonl(src, concepts, "concept")
    synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
    first = out.read_text(encoding="utf-8").splitlines(keepends=True)[0]
    out.unlink()
    rej.unlink()
    partial_path(out).write_text(first, encoding="utf-8")
    partial_path(rej).write_text("", encoding="utf-8")
    return concepts, src, out, rej, first


def test_a_resume_after_the_concept_rows_facts_changed_is_refused(tmp_path):
    """Campaign 23: a concept whose domain and facts were edited (its text unchanged) kept the
    row the interrupted run had written from the old facts."""
    concepts, src, out, rej, first = _killed_after_its_first_row(tmp_path)
    edited = [dict(c) for c in concepts]
    edited[0]["facts"] = {**edited[0]["facts"], "product": "entirely other product"}
    write_jsonl(src, edited, "concept")
    with pytest.raises(DataError, match="another version of its input row.*--restart"):
        synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
    assert partial_path(out).read_text(encoding="utf-8") == first
    write_jsonl(src, concepts, "concept")  # the input as it was: resumed
    result = synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
    assert (result.written, result.resumed) == (3, 1)


def test_a_partial_row_of_the_same_teacher_spelled_another_way_is_the_same_teacher(tmp_path, monkeypatch):
    """Campaign 24: a synth run killed with `--teacher hf:DIR` refused to resume as
    `--teacher hf:DIR/` (the same folder); `template` is never an LLM teacher's spelling."""
    from ba_datagen.synth import _same_teacher

    (tmp_path / "m").mkdir()
    monkeypatch.chdir(tmp_path)
    assert _same_teacher("hf:m", "hf:m/") and _same_teacher(f"hf:{tmp_path / 'm'}", "hf:./m")
    assert not _same_teacher("hf:m", "hf:other") and not _same_teacher("template", "hf:m")
    assert not _same_teacher(None, "template") and _same_teacher("template", "template")


def test_a_partial_file_replaced_mid_run_fails_the_run_and_is_kept(tmp_path):
    """Campaign 26: another command's output committed over OUT.partial while synth ran
    took the rest of synth's rows and its rename, and synth exited 0 with rows lost."""
    concepts = generate_concepts(4, seed=3)
    src, out = tmp_path / "c.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(src, concepts, "concept")
    template = TemplateTeacher()
    theirs = b'{"theirs": 1}\n'

    class AnotherCommandCommitsMidRun:
        name, batch_size, calls = template.name, 2, 0

        def write(self, batch):
            AnotherCommandCommitsMidRun.calls += 1
            if AnotherCommandCommitsMidRun.calls == 2:
                other = tmp_path / "other.tmp"
                other.write_bytes(theirs)
                os.replace(other, partial_path(out))
            return template.write(batch)

    with pytest.raises(DataError, match=r"raw\.jsonl\.partial: was replaced or written by another command"):
        synth(src, out, AnotherCommandCommitsMidRun(), show_progress=False)
    assert not out.exists() and partial_path(out).read_bytes() == theirs


def test_a_file_of_the_users_put_at_the_unnamed_rejects_path_mid_run_is_kept(tmp_path):
    """Campaign 28: `cp notes.txt S.rejects.jsonl` while synth ran: synth exited 0 and the
    notes were replaced by its (empty) rejects; at the start the same file is refused."""
    concepts = generate_concepts(4, seed=3)
    src, out = tmp_path / "c.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(src, concepts, "concept")
    template = TemplateTeacher()
    notes = tmp_path / "raw.rejects.jsonl"

    class TheUserCopiesNotesMidRun:
        name, batch_size = template.name, 2

        def write(self, batch):
            notes.write_text("my notes\n")
            return template.write(batch)

    with pytest.raises(UsageError, match=r"raw\.rejects\.jsonl exists and is not a rejects file .*nothing was renamed"):
        synth(src, out, TheUserCopiesNotesMidRun(), show_progress=False)
    assert notes.read_text() == "my notes\n" and not out.exists()
    assert len(partial_path(out).read_text().splitlines()) == 4


def test_a_file_of_the_users_put_at_the_unnamed_rejects_path_just_after_the_last_check_is_kept(tmp_path, monkeypatch):
    """Campaign 31 (D7): a file put at the unnamed rejects path between synth's last check
    and its rename was replaced. It comes back, and the rows stay in the partial files."""
    import importlib

    synth_module = importlib.import_module("ba_datagen.synth")
    concepts = generate_concepts(4, seed=3)
    src, out = tmp_path / "c.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(src, concepts, "concept")
    notes = tmp_path / "raw.rejects.jsonl"
    real = synth_module.check_unnamed_rejects

    def the_user_copies_notes_just_after(path, written):
        real(path, written)
        notes.write_text("my notes\n")

    monkeypatch.setattr(synth_module, "check_unnamed_rejects", the_user_copies_notes_just_after)
    with pytest.raises(UsageError, match=r"raw\.rejects\.jsonl exists and is not a rejects file .*nothing was renamed"):
        synth(src, out, TemplateTeacher(), show_progress=False)
    assert notes.read_text() == "my notes\n" and not out.exists()
    assert len(partial_path(out).read_text().splitlines()) == 4
    monkeypatch.setattr(synth_module, "check_unnamed_rejects", real)
    notes.unlink()
    result = synth(src, out, TemplateTeacher(), show_progress=False)
    assert (result.written, result.resumed) == (4, 4) and len(out.read_text().splitlines()) == 4  # resumed


def test_a_partial_file_cut_while_the_resume_reads_it_fails_the_run(tmp_path, monkeypatch):
    """Campaign 28: a partial file cut in place between the resume's reading of it and the
    appender's opening: the concepts it no longer held were skipped as done, exit 0."""
    import importlib

    synth_module = importlib.import_module("ba_datagen.synth")  # the attribute is the function
    concepts = generate_concepts(6, seed=3)
    src, out = tmp_path / "c.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(src, concepts, "concept")
    partial = partial_path(out)
    partial.write_text("".join(json.dumps(r) + "\n" for r in _first_rows(src, 4)))
    real = synth_module._drop_partial_tail

    def cut_after_reading(path, checked):
        real(path, checked)
        if path == partial:
            with open(partial, "r+b") as f:  # in place: the inode stays
                f.truncate(len(partial.read_text().splitlines(keepends=True)[0]))

    monkeypatch.setattr(synth_module, "_drop_partial_tail", cut_after_reading)
    with pytest.raises(DataError, match=r"raw\.jsonl\.partial: changed while this run read it"):
        synth(src, out, TemplateTeacher(), show_progress=False)
    assert not out.exists()


def test_a_users_file_moved_onto_a_partial_file_after_the_resumes_checks_is_kept_whole(tmp_path, monkeypatch):
    """Campaign 42 (B D3): a plain file of the user's moved onto `OUT.partial` after the
    resume's checks read the partial file and before its torn line was cut lost its last
    line. The tail is cut only in the file the checks read; any other is kept as it is."""
    import importlib

    synth_module = importlib.import_module("ba_datagen.synth")
    src, out = tmp_path / "c.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(src, generate_concepts(4, seed=3), "concept")
    partial = partial_path(out)
    full = tmp_path / "full.jsonl"
    synth(src, full, TemplateTeacher(), rejects=tmp_path / "full.rej", show_progress=False)
    lines = full.read_text().splitlines(keepends=True)
    partial.write_text(lines[0] + lines[1] + lines[2][:20])  # a run killed in its third row
    mine = tmp_path / "mine.txt"
    mine.write_text("my line 1\nmy last line without newline")
    real = synth_module._drop_partial_tail

    def swap_then_cut(path, checked):
        if path == partial:
            os.rename(partial, tmp_path / "moved.partial")
            os.rename(mine, partial)
        real(path, checked)

    monkeypatch.setattr(synth_module, "_drop_partial_tail", swap_then_cut)
    with pytest.raises(DataError, match=r"raw\.jsonl\.partial: was replaced while this run read it"):
        synth(src, out, TemplateTeacher(), show_progress=False)
    assert partial.read_text() == "my line 1\nmy last line without newline"
    assert not out.exists()


def test_a_users_file_put_at_a_partial_file_before_the_commit_is_neither_committed_nor_deleted(tmp_path, monkeypatch):
    """Campaign 42 (B D4): synth's commit copied `OUT.partial` by its name after its last
    check, so a file of the user's put there in between was committed as OUT (exit 0, none of
    the rows), then deleted. The commit copies through the file the run appended to, and
    removes a partial file's name only while it still holds that file."""
    import importlib

    from ba_io import JsonlAppender

    importlib.import_module("ba_datagen.synth")
    src, out = tmp_path / "c.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(src, generate_concepts(4, seed=3), "concept")
    partial = partial_path(out)
    real = JsonlAppender.copy_to

    def swap_then_copy(appender, dest):
        if appender.path == partial and not (tmp_path / "set-aside.partial").exists():
            os.rename(partial, tmp_path / "set-aside.partial")
            partial.write_text("the user's text\n")
        real(appender, dest)

    monkeypatch.setattr(JsonlAppender, "copy_to", swap_then_copy)
    with pytest.raises(DataError, match=r"raw\.jsonl\.partial: was replaced or written by another command"):
        synth(src, out, TemplateTeacher(), show_progress=False)
    assert partial.read_text() == "the user's text\n" and not out.exists()
    assert (
        len((tmp_path / "set-aside.partial").read_text().splitlines())
        + len(partial_path(tmp_path / "raw.rejects.jsonl").read_text().splitlines())
        == 4
    )  # every row kept where the run left it


def _first_rows(src, n):
    """The rows a template synth run writes for the first ``n`` concepts of ``src``."""
    first = src.parent / "first.jsonl"
    first.write_text("".join(src.read_text().splitlines(keepends=True)[:n]))
    synth(first, src.parent / "first-raw.jsonl", TemplateTeacher(), show_progress=False)
    return [json.loads(line) for line in (src.parent / "first-raw.jsonl").read_text().splitlines()]


_KILLED_AT_THE_SECOND_RENAME = """
import os, signal, sys
import ba_io.jsonio as jio
from ba_datagen import TemplateTeacher, synth

real, calls = jio._place, []

def place(tmp, target, *rest):
    calls.append(target)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # REJECTS in place, OUT not yet
    return real(tmp, target, *rest)

jio._place = place
synth(sys.argv[1], sys.argv[2], TemplateTeacher(), show_progress=False)
"""


def test_synth_killed_between_its_two_renames_leaves_one_runs_rows_and_rejects(tmp_path):
    """Campaign 36 (r3): REJECTS and OUT were two plain renames; a kill between them left
    run 2's rejects beside run 1's rows, run 1's rejects gone. They are one output group now."""
    import signal
    import subprocess
    import sys

    from ba_io import read_jsonl

    concepts = generate_concepts(8, seed=3)
    for i in (0, 5):
        concepts[i] = {"id": concepts[i]["id"], "concept": concepts[i]["concept"]}  # no facts -> rejected
    first, second, out = tmp_path / "c1.jsonl", tmp_path / "c2.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(first, concepts[:4], "concept")
    write_jsonl(second, concepts[4:], "concept")
    synth(first, out, TemplateTeacher(), show_progress=False)
    rejects = tmp_path / "raw.rejects.jsonl"
    earlier = (out.read_bytes(), rejects.read_bytes())
    child = subprocess.run([sys.executable, "-c", _KILLED_AT_THE_SECOND_RENAME, str(second), str(out)])
    assert child.returncode == -signal.SIGKILL
    assert [r["id"] for r in read_jsonl(out)] == [c["id"] for c in concepts[1:4]]  # a reader puts it right
    assert (out.read_bytes(), rejects.read_bytes()) == earlier
    result = synth(second, out, TemplateTeacher(), show_progress=False)  # the rerun resumes and finishes
    assert (result.written, result.resumed) == (3, 4)  # every row of the killed run was kept for it
    assert [r["id"] for r in read_jsonl(out)] == [concepts[i]["id"] for i in (4, 6, 7)]
    assert [r["id"] for r in read_jsonl(rejects)] == [concepts[5]["id"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c1.jsonl", "c2.jsonl", "raw.jsonl", "raw.rejects.jsonl"]


def test_partial_files_a_kill_left_after_the_commit_are_not_resumed(tmp_path):
    """Campaign 37: killed after its commit, before removing its partial files, synth left
    copies of OUT and REJECTS there; a run on other input was refused ("the input changed"),
    and --restart set aside rows already in OUT."""
    import shutil

    concepts = generate_concepts(8, seed=3)
    concepts[1] = {"id": concepts[1]["id"], "concept": concepts[1]["concept"]}  # no facts -> rejected
    first, second, out = tmp_path / "c1.jsonl", tmp_path / "c2.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(first, concepts[:4], "concept")
    write_jsonl(second, concepts[4:], "concept")
    synth(first, out, TemplateTeacher(), show_progress=False)
    shutil.copyfile(out, partial_path(out))  # what the kill leaves: the committed files' copies
    shutil.copyfile(tmp_path / "raw.rejects.jsonl", partial_path(tmp_path / "raw.rejects.jsonl"))
    result = synth(second, out, TemplateTeacher(), show_progress=False)
    assert (result.written, result.resumed) == (4, 0)
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [c["id"] for c in concepts[4:]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c1.jsonl", "c2.jsonl", "raw.jsonl", "raw.rejects.jsonl"]


def test_a_full_disk_at_the_commit_names_the_output_and_keeps_the_rows(tmp_path, monkeypatch):
    """Campaign 37: `Error: O.jsonl.partial: No space left on device (nothing was written there)`
    named the partial file, not -o, and did not say the rows were kept for a resume."""
    import errno
    import importlib

    synth_module = importlib.import_module("ba_datagen.synth")
    src, out = tmp_path / "c.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(src, generate_concepts(3, seed=3), "concept")

    def full(appender, target):
        raise OSError(errno.ENOSPC, "No space left on device", str(appender.path))

    monkeypatch.setattr(synth_module.JsonlAppender, "copy_to", full)
    with pytest.raises(OSError) as exc:
        synth(src, out, TemplateTeacher(), show_progress=False)
    assert exc.value.filename == str(out) and "the rows are kept in" in exc.value.strerror
    assert not out.exists() and len(partial_path(out).read_text().splitlines()) == 3


@pytest.mark.parametrize("how", ["symlink", "hardlink"])
def test_a_link_put_at_a_partial_files_name_mid_start_is_never_written_through(tmp_path, monkeypatch, how):
    """Campaign 39 (r3): a link (or a hard link) to the input put at `OUT.rejects.jsonl.partial`
    after synth's check of it was written through by its `write_text("")`: the input emptied."""
    import importlib

    synth_module = importlib.import_module("ba_datagen.synth")
    src, out = tmp_path / "c.jsonl", tmp_path / "raw.jsonl"
    write_jsonl(src, generate_concepts(3, seed=3), "concept")
    before = src.read_bytes()
    rejects_partial = partial_path(tmp_path / "raw.rejects.jsonl")
    real = synth_module._read_concepts

    def the_user_links_it_meanwhile(path):
        rows = real(path)
        if how == "symlink":
            rejects_partial.symlink_to(src)
        else:
            os.link(src, rejects_partial)
        return rows

    monkeypatch.setattr(synth_module, "_read_concepts", the_user_links_it_meanwhile)
    result = synth(src, out, TemplateTeacher(), show_progress=False)
    assert result.written == 3 and src.read_bytes() == before


@pytest.mark.parametrize("how", ["symlink", "hardlink"])
def test_a_link_put_at_a_partial_file_while_a_resume_reads_its_input_is_never_written_through(
    tmp_path, monkeypatch, how
):
    """Campaign 40 (D1): resuming an interrupted run, a link (or a hard link) to a file of
    the user's put at `OUT.partial` while synth read its input had every row appended to
    that file, exit 0: the resume opened its partial files by name. It now opens only its
    own file (no link, no other name) and the user's file is kept as it was."""
    import importlib

    synth_module = importlib.import_module("ba_datagen.synth")
    concepts, src, out, rej, first = _killed_after_its_first_row(tmp_path)
    mine = tmp_path / "mine.log"
    mine.write_text("")
    real = synth_module._read_concepts

    def the_user_links_it_meanwhile(path):
        rows = real(path)
        partial_path(out).unlink()
        if how == "symlink":
            partial_path(out).symlink_to(mine)
        else:
            os.link(mine, partial_path(out))
        return rows

    monkeypatch.setattr(synth_module, "_read_concepts", the_user_links_it_meanwhile)
    with pytest.raises((UsageError, DataError), match="raw.jsonl.partial"):
        synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
    assert mine.read_text() == "" and not out.exists()


@pytest.mark.parametrize("restart", [False, True])
def test_a_kill_between_the_two_partial_files_creations_does_not_block_later_runs(tmp_path, restart):
    """Campaign 40 (D4): a kill after synth made its empty `REJECTS.partial` and before it
    made `OUT.partial` left that empty file alone, and every later run, `--restart` too, was
    refused as "the partial rejects of another synth run". An empty one holds nothing to
    keep: it is taken for the killed start it is."""
    src, out, rej = tmp_path / "c.jsonl", tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    write_jsonl(src, generate_concepts(3, seed=1), "concept")
    partial_path(rej).write_bytes(b"")
    result = synth(src, out, TemplateTeacher(), rejects=rej, restart=restart, show_progress=False)
    assert result.written + result.rejected == 3 and result.resumed == 0
    assert len(out.read_text().splitlines()) == result.written
    assert not partial_path(rej).exists() and not partial_path(out).exists()


@pytest.mark.parametrize("killed", ["between-the-files", "between-link-and-unlink"])
def test_a_restart_killed_while_it_sets_the_partial_files_aside_does_not_block_later_runs(tmp_path, killed):
    """Campaign 41 (D1): `synth --restart` killed while it moved the interrupted run's files
    aside (link to `NAME.discarded-T`, then unlink; OUT.partial first) left REJECTS.partial
    alone, or OUT.partial with two names, and every later run, `--restart` too, was refused.
    The next run finishes the set-aside; no row is deleted."""
    concepts, src, out, rej, first = _killed_after_its_first_row(tmp_path)
    partial_path(rej).write_text('{"id":"c0002","concept":"x","teacher":"template","line":2,"reason":"r"}\n')
    rejects_before = partial_path(rej).read_text()
    aside = partial_path(out).with_name(partial_path(out).name + ".discarded-20261205T000000Z")
    os.link(partial_path(out), aside)
    if killed == "between-the-files":
        partial_path(out).unlink()
    result = synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
    assert result.resumed == 0 and result.written + result.rejected == 3
    assert aside.read_text() == first  # the interrupted run's rows, kept where the restart put them
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(partial_path(rej).name + ".discarded-")]
    assert [p.read_text() for p in kept] == [rejects_before]
    assert not partial_path(out).exists() and not partial_path(rej).exists()
