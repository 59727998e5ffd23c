"""generate on the tiny model: runs, seeds, greedy note, resume, errors; then the end-to-end path."""

from __future__ import annotations

import json
import os

import pytest
from conftest import DATA, cli_main, run_cli

from ba_eval.generation import plan_decoding, read_existing, run_generate
from ba_io import read_jsonl, validate

pytestmark = pytest.mark.integration
CONCEPTS = DATA / "concepts.jsonl"
FAST = dict(max_new_tokens=6, batch_size=2, show_progress=False, backend_options={"dtype": "float32"})


def test_plan_decoding():
    assert plan_decoding(1).greedy and plan_decoding(1).runs == (0,)
    sampled = plan_decoding(3)
    assert not sampled.greedy and sampled.runs == (0, 1, 2) and sampled.note is None
    greedy = plan_decoding(3, "greedy")
    assert greedy.runs == (0,) and "3 requested runs would be identical" in greedy.note
    assert plan_decoding(1, "sample").mode == "sample"


def test_two_sampled_runs_with_distinct_seeds(tiny_model, tmp_path):
    out = tmp_path / "p.jsonl"
    s = run_generate(f"hf:{tiny_model}", CONCEPTS, out, runs=2, seed=7, **FAST)
    rows = read_jsonl(out, "prediction")
    assert s.generated == 6 and s.skipped == 0 and len(rows) == 6
    assert {(r["id"], r["run"]) for r in rows} == {(c, k) for c in ("c1", "c2", "c3") for k in (0, 1)}
    assert {r["run"]: r["seed"] for r in rows} == {0: 7, 1: 8}
    assert all(r["decoding"]["mode"] == "sample" and "note" not in r["decoding"] for r in rows)
    assert len({r["decoding"]["batch_seed"] for r in rows}) == 4  # 2 runs x 2 batches
    assert s.completion_tokens == sum(r["completion_tokens"] for r in rows) and s.generate_s > 0


def test_greedy_with_runs_writes_one_run_and_says_why(tiny_model, tmp_path):
    out = tmp_path / "g.jsonl"
    s = run_generate(f"hf:{tiny_model}", CONCEPTS, out, runs=3, decoding="greedy", limit=2, **FAST)
    rows = read_jsonl(out, "prediction")
    assert [r["run"] for r in rows] == [0, 0] and s.runs == [0]
    assert all(r["seed"] is None and r["decoding"]["mode"] == "greedy" for r in rows)
    assert all("greedy decoding is deterministic" in r["decoding"]["note"] for r in rows)


def test_resume_skips_done_pairs_and_cuts_a_torn_line(tiny_model, tmp_path):
    out = tmp_path / "r.jsonl"
    run_generate(f"hf:{tiny_model}", CONCEPTS, out, runs=2, limit=2, **FAST)
    first = out.read_text().splitlines()
    assert len(first) == 4
    with open(out, "a") as f:  # a job killed in the middle of writing a row (rows are written compact)
        f.write('{"id":"c3","concept":"A clin')
    s = run_generate(f"hf:{tiny_model}", CONCEPTS, out, runs=2, **FAST)
    assert s.skipped == 4 and s.generated == 2
    lines = out.read_text().splitlines()
    assert lines[:4] == first  # what was done is kept byte for byte
    rows = [json.loads(line) for line in lines]
    assert sorted((r["id"], r["run"]) for r in rows) == sorted((c, k) for c in ("c1", "c2", "c3") for k in (0, 1))
    assert all(validate(r, "prediction") == [] for r in rows)
    again = run_generate(f"hf:{tiny_model}", CONCEPTS, out, runs=2, **FAST)
    assert again.generated == 0 and again.skipped == 6 and again.load_s == 0.0  # model never loaded
    from ba_io import UsageError

    for changed in ({"seed": 5}, {"max_new_tokens": 7}, {"temperature": 0.9}):
        with pytest.raises(UsageError, match="holds predictions of another setup"):
            run_generate(f"hf:{tiny_model}", CONCEPTS, out, runs=2, **{**FAST, **changed})


def test_resume_refuses_an_output_made_for_other_concepts_with_the_same_ids(tiny_model, tmp_path):
    """Campaign 19 (E1): concepts files number their rows c0001, ... whatever the seed; new
    concepts sent to an old output were skipped as done ("0 generated, 3 already present")."""
    from ba_io import UsageError

    out = tmp_path / "p.jsonl"
    run_generate(f"hf:{tiny_model}", CONCEPTS, out, limit=2, **FAST)
    before = out.read_bytes()
    other = tmp_path / "other.jsonl"
    rows = [json.loads(line) for line in CONCEPTS.read_text().splitlines() if line.strip()]
    other.write_text("".join(json.dumps({**r, "concept": r["concept"] + " Also offline."}) + "\n" for r in rows))
    with pytest.raises(UsageError, match=r"holds predictions for other concepts \(line 1: id c1 "):
        run_generate(f"hf:{tiny_model}", other, out, **FAST)
    assert out.read_bytes() == before
    s = run_generate(f"hf:{tiny_model}", other, out, overwrite=True, **FAST)
    assert s.generated == 3 and {r["concept"] for r in read_jsonl(out)} == {r["concept"] for r in read_jsonl(other)}


def test_resume_refuses_rows_of_a_model_retrained_in_place(tiny_model, tmp_path):
    """Campaign 20 (F3): `hf:BASE+lora:DIR` retrained in place kept its spec, and a resumed
    output kept the old adapter's rows ("0 generated, 3 already present", exit 0)."""
    import shutil

    from ba_io import UsageError

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    out = tmp_path / "p.jsonl"
    run_generate(f"hf:{model}", CONCEPTS, out, limit=2, **FAST)
    assert all(r["model_files"] for r in read_jsonl(out, "prediction"))
    s = run_generate(f"hf:{model}", CONCEPTS, out, **FAST)  # the same files: resumed
    assert s.skipped == 2 and s.generated == 1
    before = out.read_bytes()
    config = model / "config.json"
    config.write_text(config.read_text())  # rewritten, as a retrain or a re-merge does
    os.utime(config, ns=(config.stat().st_atime_ns, config.stat().st_mtime_ns + 10**9))
    with pytest.raises(UsageError, match=r"holds predictions of other files of model hf:.* \(line 1: the model"):
        run_generate(f"hf:{model}", CONCEPTS, out, **FAST)
    assert out.read_bytes() == before


def test_read_existing_refuses_a_bad_middle_line(tmp_path):
    from ba_io import DataError

    p = tmp_path / "bad.jsonl"
    p.write_text('{"broken\n' + (DATA / "preds_ok.jsonl").read_text())
    with pytest.raises(DataError, match=r"bad\.jsonl:1: invalid JSON"):
        read_existing(p)


@pytest.mark.parametrize(
    "args,rc,line",
    [
        (
            ["--in", str(DATA / "concepts_no_concept.jsonl")],
            1,
            f"Error: {DATA / 'concepts_no_concept.jsonl'}:2: concept: a non-empty string is required",
        ),
        (
            ["--in", str(DATA / "concepts_dup_id.jsonl")],
            1,
            f"Error: {DATA / 'concepts_dup_id.jsonl'}:2: id 'a' repeats line 1",
        ),
        (["--in", "nowhere.jsonl"], 2, "Error: input file not found: nowhere.jsonl"),
        (["--in", str(CONCEPTS), "--runs", "0"], 2, None),
    ],
)
def test_generate_input_errors(args, rc, line, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli_main("generate", "--model", "hf:unused", "-o", str(tmp_path / "o.jsonl"), *args) == rc
    err = capsys.readouterr().err.strip().splitlines()[-1]
    if line is None:
        assert "--runs: must be >= 1, got 0" in err
    else:
        assert err == line
    assert not (tmp_path / "o.jsonl").exists()


def test_output_of_another_model_is_refused(tiny_model, tmp_path, capsys):
    out = tmp_path / "p.jsonl"
    out.write_text((DATA / "preds_ok.jsonl").read_text())
    rc = cli_main("generate", "--model", f"hf:{tiny_model}", "--in", str(CONCEPTS), "-o", str(out))
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"Error: {out} holds predictions of another setup (line 1: model m,")
    assert err.endswith("use another -o or delete it")


def test_end_to_end_generate_then_compare(tiny_model, tmp_path):
    """Two sampled runs per model through the real CLI, then compare them."""
    for name, seed in (("a", "1"), ("b", "2")):
        r = run_cli(
            "generate",
            "--model",
            f"hf:{tiny_model}",
            "--in",
            str(CONCEPTS),
            "--out",
            str(tmp_path / f"{name}.jsonl"),
            "--runs",
            "2",
            "--seed",
            seed,
            "--max-new-tokens",
            "6",
            "--batch-size",
            "3",
        )
        assert r.returncode == 0, r.stderr
        assert "6 predictions generated, 0 already present (runs 0, 1)" in r.stderr
    r = run_cli(
        "compare",
        "--run",
        f"a={tmp_path / 'a.jsonl'}",
        "--run",
        f"b={tmp_path / 'b.jsonl'}",
        "-o",
        str(tmp_path / "rep"),
        "--bootstrap",
        "200",
        "--print-table",
    )
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "rep" / "comparison.json").read_text())
    assert validate(rep, "comparison-report") == []
    assert rep["n_examples"] == 3 and [m["runs"] for m in rep["models"]] == [2, 2]
    assert rep["models"][0]["decoding"] == "sample"
    assert rep["comparisons"][0]["adopt"] is False  # a random model is no better than itself
    assert (tmp_path / "rep" / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    assert r.stdout.splitlines()[0].split()[:5] == ["model", "n", "total", "95%", "CI"]


def test_a_concurrent_run_or_an_output_that_is_the_input_is_refused_before_any_model_work(
    tiny_model, tmp_path, monkeypatch
):
    """#17.1 / #17.5: one run per --out, and --out never the --in file."""
    import ba_llm
    from ba_io import UsageError, output_lock

    def no_model(*a, **k):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(ba_llm, "load_backend", no_model)
    src = tmp_path / "c.jsonl"
    src.write_bytes(CONCEPTS.read_bytes())
    with pytest.raises(UsageError, match=r"^--in and -o are the same file"):
        run_generate(f"hf:{tiny_model}", src, src, **FAST)
    assert src.read_bytes() == CONCEPTS.read_bytes()
    out = tmp_path / "p.jsonl"
    with output_lock(out):
        with pytest.raises(UsageError, match="another run is writing it"):
            run_generate(f"hf:{tiny_model}", src, out, **FAST)
    assert not out.exists()


def test_timings_is_never_the_input_or_the_predictions(tiny_model, tmp_path, capsys):
    """The campaign: `--timings c.jsonl` (the --in file) replaced the concepts by a timings JSON;
    campaign 6: `--timings p.jsonl.lock` replaced the run's lock file."""
    src = tmp_path / "c.jsonl"
    src.write_bytes(CONCEPTS.read_bytes())
    for timings in (src, tmp_path / "p.jsonl", tmp_path / "p.jsonl.lock"):
        rc = cli_main(
            "generate",
            "--model",
            f"hf:{tiny_model}",
            "--in",
            str(src),
            "-o",
            str(tmp_path / "p.jsonl"),
            "--timings",
            str(timings),
            "--max-new-tokens",
            "2",
        )
        err = capsys.readouterr().err
        # a lock's name is refused by its name (campaign 41), the input by "the same file"
        same = "are the same file" in err or "a name ba-io keeps for the lock of an output" in err
        assert rc == 2 and same and "--timings" in err and err.count("\n") == 1
    assert src.read_bytes() == CONCEPTS.read_bytes() and not (tmp_path / "p.jsonl").exists()


def test_timings_replace_only_nothing_or_earlier_timings(tiny_model, tmp_path, capsys):
    """Campaign 31: `ba-eval benchmark`'s child run replaced a user's file put at
    `REPORT.predictions/NAME.timings.json` mid-run; --timings now replaces only nothing or an
    earlier timings file, checked before the model loads and again at its commit."""
    timings = tmp_path / "t.json"
    timings.write_text("my notes\n")
    args = ("generate", "--model", f"hf:{tiny_model}", "--in", str(CONCEPTS), "--limit", "1", "--max-new-tokens", "2")
    rc = cli_main(*args, "-o", str(tmp_path / "p.jsonl"), "--timings", str(timings))
    err = capsys.readouterr().err
    assert rc == 2 and "t.json exists and is not a generation's timings" in err and err.count("\n") == 1, err
    assert timings.read_text() == "my notes\n" and not (tmp_path / "p.jsonl").exists()
    timings.unlink()
    assert cli_main(*args, "-o", str(tmp_path / "p.jsonl"), "--timings", str(timings)) == 0
    assert cli_main(*args, "-o", str(tmp_path / "q.jsonl"), "--timings", str(timings)) == 0  # its own earlier file
    assert json.loads(timings.read_text())["out"].endswith("q.jsonl")


@pytest.mark.parametrize("kind", ["fifo", "folder", "link-to-devnull"])
def test_an_output_that_is_not_a_file_is_refused_before_the_model_loads(tmp_path, capsys, kind):
    """Campaign 3: `-o FIFO` hung reading it as earlier predictions; a folder or a link to
    /dev/null failed after the model had loaded, in the internal-error form."""
    out = tmp_path / "out"
    if kind == "fifo":
        os.mkfifo(out)
    elif kind == "folder":
        out.mkdir()
    else:
        out.symlink_to("/dev/null")
    rc = cli_main("generate", "--model", "hf:unused", "--in", str(CONCEPTS), "-o", str(out))
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("Error: ") and err.count("\n") == 1 and "nothing was written" in err, err
    assert not (tmp_path / "out.lock").exists()


def test_a_seed_beyond_32_bits_is_a_usage_error(capsys):
    """Campaign 3: --seed 1e23 overflowed inside the generation, after the model had loaded."""
    rc = cli_main("generate", "--model", "hf:unused", "--in", str(CONCEPTS), "-o", "x.jsonl", "--seed", "9" * 23)
    err = capsys.readouterr().err
    assert rc == 2 and "--seed" in err and err.count("\n") == 1


@pytest.mark.parametrize("target", ["/dev/null", "file"])
def test_compare_refuses_an_output_folder_that_is_not_a_folder(tmp_path, capsys, target):
    """Campaign 3: `compare -o /dev/null` or a regular file failed as NotADirectoryError (exit 1)."""
    preds = tmp_path / "p.jsonl"
    preds.write_text("")
    out = "/dev/null" if target == "/dev/null" else str(preds)
    rc = cli_main("compare", "--run", f"a={preds}", "--run", f"b={preds}", "-o", out)
    err = capsys.readouterr().err
    assert rc == 2 and "exists and is not a folder" in err and err.count("\n") == 1, err


def test_timings_and_benchmark_outputs_are_checked_before_any_model_runs(tmp_path, capsys):
    """Campaign 4: `--timings FIFO` and a FIFO at benchmark's REPORT.md were refused only
    after the generation, with the predictions already written."""
    os.mkfifo(tmp_path / "fifo")
    rc = cli_main("generate", "--model", "hf:unused", "--in", str(CONCEPTS), "-o", str(tmp_path / "p.jsonl"),
                  "--timings", str(tmp_path / "fifo"))  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "not a regular file" in err and not (tmp_path / "p.jsonl").exists()
    # campaign 24: an unwritable --timings folder failed only after every document was generated
    rc = cli_main("generate", "--model", "hf:unused", "--in", str(CONCEPTS), "-o", str(tmp_path / "p.jsonl"),
                  "--timings", "/proc/ba-eval-timings/t.json")  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "cannot write in /proc" in err and err.count("\n") == 1, err
    assert not (tmp_path / "p.jsonl").exists()
    os.mkfifo(tmp_path / "rb.md")
    rc = cli_main("benchmark", "--model", "hf:unused", "--dataset", str(CONCEPTS), "-o", str(tmp_path / "rb.json"))
    err = capsys.readouterr().err
    assert rc == 2 and "rb.md: not a regular file" in err and err.count("\n") == 1, err
    assert not (tmp_path / "rb.json").exists() and not (tmp_path / "rb.predictions").exists()


def test_benchmark_never_replaces_a_users_file_at_the_reports_markdown_name(tmp_path, capsys):
    """Campaign 15: a notes file at REPORT.md was replaced by the report's Markdown; only an
    earlier benchmark's Markdown (its heading first) may be."""
    from ba_eval.report import BENCHMARK_MD_HEADING

    (tmp_path / "rep.md").write_text("# my notes\n", encoding="utf-8")
    rc = cli_main("benchmark", "--model", "hf:unused", "--dataset", str(CONCEPTS), "-o", str(tmp_path / "rep.json"))
    err = capsys.readouterr().err
    assert rc == 2 and "rep.md exists and is not the Markdown of rep.json" in err and err.count("\n") == 1, err
    assert (tmp_path / "rep.md").read_text(encoding="utf-8") == "# my notes\n"
    (tmp_path / "rep.md").write_text(BENCHMARK_MD_HEADING + "\n\nan earlier report\n", encoding="utf-8")
    rc = cli_main("benchmark", "--model", "hf:unused", "--dataset", str(CONCEPTS), "-o", str(tmp_path / "rep.json"))
    err = capsys.readouterr().err
    assert rc == 2 and "rep.md" not in err, err  # past the check: the unused model is what fails


def test_benchmark_never_replaces_the_markdown_of_another_report(tmp_path, capsys):
    """Campaign 32: `-o R.json` and `-o R` are two reports with one R.md (as `failures`' F.md):
    the second run would replace the first one's. Each Markdown names its report."""
    from ba_eval.report import BENCHMARK_MD_HEADING, tag_output

    md = tmp_path / "rep.md"
    md.write_text(tag_output(BENCHMARK_MD_HEADING + "\n\nthe report of rep.json\n", tmp_path / "rep.json"))
    rc = cli_main("benchmark", "--model", "hf:unused", "--dataset", str(CONCEPTS), "-o", str(tmp_path / "rep"))
    err = capsys.readouterr().err
    assert rc == 2 and "rep.md exists and is not the Markdown of rep (a file of yours?)" in err, err
    rc = cli_main("benchmark", "--model", "hf:unused", "--dataset", str(CONCEPTS), "-o", str(tmp_path / "rep.json"))
    err = capsys.readouterr().err
    assert rc == 2 and "rep.md" not in err, err  # its own report's: past the check, the unused model fails


@pytest.mark.parametrize("target", ["report", "markdown"])
def test_benchmark_never_writes_over_its_dataset(tmp_path, capsys, target):
    """Campaign 5: `benchmark --dataset d.jsonl -o d.jsonl` (or with d as the report's .md)
    replaced the dataset by the report after the model had run."""
    data = tmp_path / ("d.jsonl" if target == "report" else "r.md")
    data.write_bytes(CONCEPTS.read_bytes())
    out = data if target == "report" else tmp_path / "r.json"
    rc = cli_main("benchmark", "--model", "hf:unused", "--dataset", str(data), "-o", str(out))
    err = capsys.readouterr().err
    assert rc == 2 and "are the same file" in err and err.count("\n") == 1, err
    assert data.read_bytes() == CONCEPTS.read_bytes()


def test_an_output_that_is_not_predictions_is_refused_with_its_bytes_unchanged(tiny_model, tmp_path):
    """Campaign 11: `-o notes.txt` (its last line unterminated and not JSON) lost that line,
    cut as a torn row, before the file was refused; through a link, the linked file did."""
    from ba_io import DataError, UsageError

    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"meeting notes\nremember to buy milk")
    preds = tmp_path / "other.jsonl"
    preds.write_bytes((DATA / "preds_ok.jsonl").read_bytes() + b'{"id":"c9","my own unfinished note')
    (tmp_path / "link.jsonl").symlink_to(preds)
    for out, before in ((notes, notes.read_bytes()), (tmp_path / "link.jsonl", preds.read_bytes())):
        with pytest.raises((DataError, UsageError), match="nothing was changed|another setup"):
            run_generate(f"hf:{tiny_model}", CONCEPTS, out, **FAST)
        assert (preds if out.is_symlink() else out).read_bytes() == before


def test_overwrite_keeps_the_old_output_until_the_model_has_loaded(tiny_model, tmp_path):
    """Campaign 11: --overwrite deleted the old output before the model loaded; a model that
    then failed to load left nothing. The old file now stays until the model is loaded."""
    from ba_io import UsageError

    out = tmp_path / "p.jsonl"
    run_generate(f"hf:{tiny_model}", CONCEPTS, out, limit=1, **FAST)
    before = out.read_bytes()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    with pytest.raises(Exception):  # noqa: B017 - whatever the loader raises, the file must stay
        run_generate(f"hf:{broken}", CONCEPTS, out, overwrite=True, **FAST)
    assert out.read_bytes() == before
    (tmp_path / "notes.txt").write_text("not predictions\n")
    with pytest.raises((UsageError, Exception)):  # noqa: B017
        run_generate(f"hf:{tiny_model}", CONCEPTS, tmp_path / "notes.txt", overwrite=True, **FAST)
    assert (tmp_path / "notes.txt").read_text() == "not predictions\n"
    s = run_generate(f"hf:{tiny_model}", CONCEPTS, out, overwrite=True, **FAST)
    assert s.generated == 3 and len(out.read_text().splitlines()) == 3


def test_a_model_that_fails_on_its_first_batch_keeps_the_old_output(tiny_model, tmp_path, monkeypatch, capsys):
    """Campaign 18: a model that loaded but failed while generating (a config.json whose
    vocab_size is below the tokenizer's) was an internal IndexError, and --overwrite had
    already deleted the earlier predictions. It is now one error naming config.json, and an
    --overwrite run replaces the old output only with rows it has generated."""
    import shutil

    import ba_eval.generation

    out = tmp_path / "p.jsonl"
    run_generate(f"hf:{tiny_model}", CONCEPTS, out, limit=1, **FAST)
    before = out.read_bytes()
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    small = tmp_path / "small"  # a consistent model with 100 embeddings, beside the real tokenizer
    cfg = AutoConfig.from_pretrained(tiny_model)
    cfg.vocab_size = 100
    AutoModelForCausalLM.from_config(cfg).save_pretrained(small)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(small)
    mismatched = tmp_path / "mismatched"  # config.json edited: its weights no longer fit it
    shutil.copytree(tiny_model, mismatched)
    (mismatched / "config.json").write_text(json.dumps({**cfg.to_dict(), "vocab_size": 100}))
    for model, says in ((small, "token embeddings"), (mismatched, "cannot load the transformers model")):
        rc = cli_main("generate", "--model", f"hf:{model}", "--in", str(CONCEPTS), "-o", str(out), "--overwrite")
        err = capsys.readouterr().err
        assert rc == 2 and says in err and err.strip().splitlines()[-1].startswith("Error: "), err
        assert out.read_bytes() == before

    def fail(*a, **k):
        raise RuntimeError("the first batch failed")

    monkeypatch.setattr(ba_eval.generation, "_generate_batch", fail)
    with pytest.raises(RuntimeError):
        run_generate(f"hf:{tiny_model}", CONCEPTS, out, overwrite=True, **FAST)
    assert out.read_bytes() == before


def test_timings_is_never_the_lock_beside_a_linked_output(tiny_model, tmp_path, capsys):
    """Campaign 11: with `-o LINK`, `--timings TARGET.lock` (the lock beside the file the link
    names) was accepted and replaced the run's lock."""
    other = tmp_path / "other"
    other.mkdir()
    (tmp_path / "l.jsonl").symlink_to(other / "p.jsonl")
    rc = cli_main(
        "generate", "--model", f"hf:{tiny_model}", "--in", str(CONCEPTS), "-o", str(tmp_path / "l.jsonl"),
        "--timings", str(other / "p.jsonl.lock"), "--max-new-tokens", "2",
    )  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "a name ba-io keeps for the lock of an output" in err and "--timings" in err  # campaign 41
    assert not (other / "p.jsonl.lock").exists()


@pytest.mark.parametrize(
    "text",
    [
        '{"id":"todo-1","text":"call Anna about the',  # a note in JSON, unfinished
        '{"id": "n1", "note": "hand-written',  # spaced: synth and generate write compact rows
        '{"id":"c1","concept":"not this concept',  # a known id, another concept text
    ],
)
def test_an_unfinished_last_line_that_is_no_row_of_this_run_is_not_cut(tiny_model, tmp_path, text):
    """Campaign 12: any unfinished last line starting with {"id": was cut as a torn row (then
    the run might fail anyway). Only the start of a row of this run (its concepts, model and
    prompt) is cut; anything else is refused with the file unchanged."""
    from ba_io import DataError

    out = tmp_path / "p.jsonl"
    run_generate(f"hf:{tiny_model}", CONCEPTS, out, limit=1, **FAST)
    out.write_bytes(out.read_bytes() + text.encode())
    before = out.read_bytes()
    with pytest.raises(DataError, match="nothing was changed"):
        run_generate(f"hf:{tiny_model}", CONCEPTS, out, **FAST)
    assert out.read_bytes() == before


def test_an_output_inside_the_model_or_with_other_names_is_refused(tiny_model, tmp_path, capsys):
    """Campaign 12: `--timings MODEL/config.json` replaced the model's config; two names of one
    output (a hard link) took two locks, and both runs appended the same rows."""
    from ba_io import UsageError

    rc = cli_main(
        "generate", "--model", f"hf:{tiny_model}", "--in", str(CONCEPTS), "-o", str(tmp_path / "p.jsonl"),
        "--timings", str(tiny_model / "config.json"), "--max-new-tokens", "2",
    )  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "is a file of the model" in err and "--timings" in err
    with pytest.raises(UsageError, match="is a file of the model"):
        run_generate(f"hf:{tiny_model}", CONCEPTS, tiny_model / "preds.jsonl", **FAST)
    (tmp_path / "a.jsonl").write_text("")
    os.link(tmp_path / "a.jsonl", tmp_path / "b.jsonl")
    with pytest.raises(UsageError, match="other names"):
        run_generate(f"hf:{tiny_model}", CONCEPTS, tmp_path / "b.jsonl", **FAST)
    assert (tmp_path / "a.jsonl").read_text() == ""


@pytest.mark.parametrize("target", ["report", "markdown"])
def test_benchmark_never_writes_over_its_prompt(tmp_path, capsys, target):
    """Campaign 12: `benchmark --prompt bench.json -o bench.json` replaced the prompt by the report."""
    from ba_llm import load_prompt

    prompt = tmp_path / ("bench.json" if target == "report" else "bench.md")
    prompt.write_text(json.dumps(load_prompt(None).to_dict()))
    before = prompt.read_bytes()
    out = prompt if target == "report" else tmp_path / "bench.json"
    rc = cli_main(
        "benchmark", "--model", "hf:unused", "--dataset", str(CONCEPTS), "--prompt", str(prompt), "-o", str(out)
    )
    err = capsys.readouterr().err
    assert rc == 2 and "are the same file" in err and "--prompt" in err and err.count("\n") == 1, err
    assert prompt.read_bytes() == before


def test_benchmark_never_writes_into_a_candidates_files(tiny_model, tmp_path, capsys):
    """Campaign 13: benchmark's report (or its .md), linked into a candidate's model folder,
    replaced the model's generation_config.json or an adapter's config."""
    import shutil

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    before = (model / "generation_config.json").read_bytes() if (model / "generation_config.json").exists() else None
    (tmp_path / "r.md").symlink_to(model / "config.json")
    cfg = (model / "config.json").read_bytes()
    for out in (tmp_path / "r.json", model / "report.json"):
        rc = cli_main("benchmark", "--model", f"hf:{model}", "--dataset", str(CONCEPTS), "-o", str(out))
        err = capsys.readouterr().err
        assert rc == 2 and "is a file of the model" in err and err.count("\n") == 1, err
    assert (model / "config.json").read_bytes() == cfg and not (model / "report.json").exists()
    if before is not None:
        assert (model / "generation_config.json").read_bytes() == before


def test_a_benchmark_whose_model_fails_prints_one_error_line_and_leaves_no_folder(tmp_path, capfd):
    """Campaign 15: the child's Error: line was followed by the benchmark's own, and the
    empty predictions folder the child's lock made was left behind (campaign 14)."""
    rc = cli_main(
        "benchmark", "--model", "hf:nothere", "--dataset", str(CONCEPTS), "-o", str(tmp_path / "r" / "s.json")
    )
    err = capfd.readouterr().err
    assert rc == 2 and err.count("Error: ") == 1 and "model directory not found" in err, err
    assert "(benchmark: generating with hf:nothere failed, exit 2; no report written)" in err
    assert not (tmp_path / "r").exists()


def test_a_benchmark_child_failing_on_data_names_no_missing_predictions_file(tmp_path, tiny_model, capfd, monkeypatch):
    """Campaign 16: a child that exited 1 got a context line naming
    ``REPORT.predictions/<model>.jsonl``, a file the failed child never wrote."""
    from ba_eval import benchmark

    monkeypatch.setattr(benchmark, "_run_child", lambda cmd: (1, 0.1, 10.0))
    out = tmp_path / "r.json"
    rc = cli_main("benchmark", "--model", f"hf:{tiny_model}", "--dataset", str(CONCEPTS), "-o", str(out))
    err = capfd.readouterr().err
    assert rc == 1 and err == f"{out}: (generating with hf:{tiny_model} failed, exit 1; not written)\n", err
    assert not out.exists() and not (tmp_path / "r.predictions").exists()


def test_the_packaged_curated_set_is_an_input_no_output_may_replace(tiny_model, tmp_path, capsys, monkeypatch):
    """Campaign 22 D4: `--in curated --timings <the packaged curated.jsonl>` and `benchmark
    --dataset curated -o <a link to it>` replaced the curated set (here a copy stands in
    for the packaged file, so a failing test cannot write into the package)."""
    import ba_eval.datasets
    from ba_eval.datasets import curated_path

    copy = tmp_path / "pkg" / "curated.jsonl"
    copy.parent.mkdir()
    original = curated_path().read_bytes()
    copy.write_bytes(original)
    monkeypatch.setattr(ba_eval.datasets, "curated_path", lambda: copy)
    link = tmp_path / "link.json"
    link.symlink_to(copy)
    common = ("--model", f"hf:{tiny_model}", "--max-new-tokens", "2")
    runs = [
        ("generate", *common, "--in", "curated", "-o", str(tmp_path / "p.jsonl"), "--timings", str(copy)),
        ("generate", *common, "--in", "curated", "-o", str(copy)),
        ("benchmark", *common, "--dataset", "curated", "--limit", "1", "-o", str(link)),
    ]
    for args in runs:
        rc = cli_main(*args)
        err = capsys.readouterr().err
        assert rc == 2 and "are the same file" in err and err.count("\n") == 1, (args, err)
    assert copy.read_bytes() == original and not (tmp_path / "p.jsonl").exists()


def test_resume_takes_another_spelling_of_the_same_model_and_keeps_the_files_spelling(tiny_model, tmp_path):
    """Campaign 24: `hf:DIR/` (or a link to DIR) was refused as another model than `hf:DIR`,
    and a NOTES.txt added beside the weights as other model files. Both resume now; the new
    rows name the model as the file already does, so compare reads one model."""
    out = tmp_path / "r.jsonl"
    run_generate(f"hf:{tiny_model}", CONCEPTS, out, runs=1, limit=1, **FAST)
    (tiny_model / "NOTES.txt").write_text("a note of the user's")
    link = tmp_path / "link"
    link.symlink_to(tiny_model)
    try:
        s = run_generate(f"hf:{tiny_model}/", CONCEPTS, out, runs=1, limit=2, **FAST)
        assert s.skipped == 1 and s.generated == 1
        s = run_generate(f"hf:{link}", CONCEPTS, out, runs=1, **FAST)
        assert s.skipped == 2 and s.generated == 1
    finally:
        (tiny_model / "NOTES.txt").unlink()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["model"] for r in rows} == {f"hf:{tiny_model}"} and len(rows) == 3


def test_resume_refuses_an_output_holding_a_prediction_twice(tiny_model, tmp_path):
    """Campaign 25 (r4): `cat a b > out` held one prediction twice; the resume kept it with
    exit 0 and `ba-eval compare` then refused the file."""
    from ba_io import DataError

    out = tmp_path / "p.jsonl"
    run_generate(f"hf:{tiny_model}", CONCEPTS, out, limit=2, **FAST)
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines + lines[:1]))
    before = out.read_bytes()
    with pytest.raises(DataError, match=r"p.jsonl:3: duplicate prediction for id 'c1' run 0 \(first on line 1\)"):
        run_generate(f"hf:{tiny_model}", CONCEPTS, out, **FAST)
    assert out.read_bytes() == before


@pytest.mark.parametrize("how", ["renamed over", "written in place"])
def test_an_output_another_command_writes_mid_run_fails_the_run_and_is_kept(tiny_model, tmp_path, monkeypatch, how):
    """Campaign 28: `ba-metric score X -o P.jsonl` (or `> P.jsonl`) while generate appended
    to P.jsonl: generate exited 0 with rows missing and foreign rows in its file."""
    import ba_eval.generation
    from ba_io import DataError

    out, theirs = tmp_path / "p.jsonl", b'{"theirs": 1}\n'
    real, calls = ba_eval.generation._generate_batch, []

    def another_command_writes_after_the_first_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            if how == "renamed over":
                (tmp_path / "other.tmp").write_bytes(theirs)
                os.replace(tmp_path / "other.tmp", out)
            else:
                out.write_bytes(theirs)
        return real(*args, **kwargs)

    monkeypatch.setattr(ba_eval.generation, "_generate_batch", another_command_writes_after_the_first_batch)
    with pytest.raises(DataError, match=r"p\.jsonl: was replaced or written by another command while this run"):
        run_generate(f"hf:{tiny_model}", CONCEPTS, out, **{**FAST, "batch_size": 1})
    assert out.read_bytes() == theirs


def test_overwrite_never_deletes_a_file_put_there_while_the_model_loads(tiny_model, tmp_path, monkeypatch):
    """Campaign 28: `generate --overwrite` checked OUT at the start; a file of the user's
    written there while the model loaded was deleted when the first batch was ready."""
    import ba_llm
    from ba_io import DataError

    out, mine = tmp_path / "p.jsonl", b'{"mine": 1}\n'
    run_generate(f"hf:{tiny_model}", CONCEPTS, out, limit=1, **FAST)
    real = ba_llm.load_backend

    def the_user_writes_while_it_loads(*args, **kwargs):
        (tmp_path / "mine.tmp").write_bytes(mine)
        os.replace(tmp_path / "mine.tmp", out)
        return real(*args, **kwargs)

    monkeypatch.setattr(ba_llm, "load_backend", the_user_writes_while_it_loads)
    with pytest.raises(DataError, match="was replaced or written by another command"):
        run_generate(f"hf:{tiny_model}", CONCEPTS, out, overwrite=True, **FAST)
    assert out.read_bytes() == mine


def test_a_model_that_fails_to_load_leaves_no_new_output(tmp_path):
    """The output is opened before the model loads: one that fails to load leaves no file."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    with pytest.raises(Exception):  # noqa: B017 - whatever the loader raises, no file is left
        run_generate(f"hf:{broken}", CONCEPTS, tmp_path / "p.jsonl", **FAST)
    assert not (tmp_path / "p.jsonl").exists()
