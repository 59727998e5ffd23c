"""compare: per-example means, dropped examples, statistics wiring, decisions, reports, CLI errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DATA, cli_main, pred_row, write_rows

from ba_eval.compare import compare_runs, decide, parse_run_arg
from ba_eval.report import comparison_markdown, summary_table
from ba_io import validate
from ba_metric import render


def _partial(row: dict) -> str:
    """The reference document cut before its non-functional requirements (scores < 1)."""
    return render(row).split("non_functional_requirements")[0]


@pytest.fixture
def files(tmp_path, curated_rows):
    """baseline: full doc in run 0, partial in run 1; finetuned: full doc in both runs;
    one example missing a run in finetuned and one only in baseline (both dropped)."""
    rows = curated_rows[:8]
    base, ft = [], []
    for k, r in enumerate(rows):
        base.append(pred_row(r["id"], r["concept"], 0, render(r) if k % 2 else _partial(r), model="base"))
        base.append(pred_row(r["id"], r["concept"], 1, _partial(r), model="base"))
        if k == 7:  # only run 0 in finetuned: incomplete -> dropped
            ft.append(pred_row(r["id"], r["concept"], 0, render(r), model="ft"))
            continue
        ft.append(pred_row(r["id"], r["concept"], 0, render(r), model="ft"))
        ft.append(pred_row(r["id"], r["concept"], 1, render(r), model="ft"))
    extra = curated_rows[8]
    base += [pred_row(extra["id"], extra["concept"], run, "", model="base") for run in (0, 1)]
    return write_rows(tmp_path / "base.jsonl", base), write_rows(tmp_path / "ft.jsonl", ft)


def test_compare_per_example_means_and_drops(files, curated_rows):
    from ba_metric import score

    result = compare_runs([("baseline", files[0]), ("finetuned", files[1])], n_bootstrap=500)
    rep = result.report
    assert rep["reference"] == "baseline" and rep["n_examples"] == 7
    assert rep["dropped"]["n"] == 2
    assert rep["dropped"]["by_file"]["finetuned"]["incomplete_runs"] == 1
    assert rep["dropped"]["by_file"]["baseline"]["missing_elsewhere"] == 2
    full = 1.0
    part = score(_partial(curated_rows[0]), curated_rows[0]["concept"]).total
    assert part < 0.9
    expected_base = [
        np.mean([full if k % 2 else score(_partial(r), r["concept"]).total, score(_partial(r), r["concept"]).total])
        for k, r in enumerate(curated_rows[:7])
    ]
    got = [e["scores"]["baseline"] for e in rep["per_example"]]
    assert got == pytest.approx(expected_base)
    base, ft = rep["models"]
    assert base["mean"] == pytest.approx(np.mean(expected_base))
    assert ft["mean"] == pytest.approx(1.0) and ft["std_across_runs"] == 0.0
    # std across runs = sample SD of the two per-run means
    run_means = [
        np.mean([full if k % 2 else score(_partial(r), r["concept"]).total for k, r in enumerate(curated_rows[:7])]),
        np.mean([score(_partial(r), r["concept"]).total for r in curated_rows[:7]]),
    ]
    assert base["std_across_runs"] == pytest.approx(np.std(run_means, ddof=1))
    assert base["ci95"][0] <= base["mean"] <= base["ci95"][1]
    assert base["runs"] == 2 and base["model"] == "base"
    assert base["distinct_output_rate"] == 1.0
    assert ft["component_pass_rates"]["nfr_list"] == 1.0 and base["component_pass_rates"]["nfr_list"] < 1.0
    assert base["completion_tokens_per_s"] == pytest.approx(100.0)
    comp = rep["comparisons"][0]
    assert comp["mean_diff"] == pytest.approx(ft["mean"] - base["mean"])
    assert comp["adopt"] is True and comp["decision"].startswith("Adopt finetuned over baseline:")
    assert comp["content"]["mean_diff"] == pytest.approx(ft["content_mean"] - base["content_mean"])
    assert 0.0 <= base["content_mean"] <= 1.0 and base["content_ci95"][0] <= base["content_mean"]
    assert validate(rep, "comparison-report") == []
    for rows in result.scored.values():
        assert all(validate(r, "scored-prediction") == [] for r in rows)


def test_identical_models_keep_reference(files):
    rep = compare_runs([("a", files[0]), ("b", files[0])], n_bootstrap=200).report
    c = rep["comparisons"][0]
    assert c["wilcoxon"]["p_value"] == 1.0 and c["wilcoxon"]["statistic"] is None
    assert c["cohens_dz"] == 0.0 and c["adopt"] is False
    assert c["decision"].startswith("Keep a (the simpler model) over b:")
    assert validate(rep, "comparison-report") == []


def test_distinct_output_rate_detects_one_answer_for_everything(tmp_path, curated_rows):
    same = render(curated_rows[0])
    rows = [pred_row(r["id"], r["concept"], 0, same) for r in curated_rows[:4]]
    rep = compare_runs([("m", write_rows(tmp_path / "p.jsonl", rows))], n_bootstrap=100).report
    assert rep["models"][0]["distinct_output_rate"] == pytest.approx(0.25)
    assert rep["comparisons"] == []


def test_constant_difference_reports_null_effect_size(tmp_path, curated_rows):
    rows = curated_rows[:4]
    zero = write_rows(tmp_path / "zero.jsonl", [pred_row(r["id"], r["concept"], 0, "no yaml here") for r in rows])
    full = write_rows(tmp_path / "full.jsonl", [pred_row(r["id"], r["concept"], 0, render(r)) for r in rows])
    rep = compare_runs([("zero", zero), ("full", full)], n_bootstrap=100).report
    c = rep["comparisons"][0]
    assert rep["models"][0]["mean"] == 0.0 and rep["models"][0]["yaml_valid_rate"] == 0.0
    assert c["mean_diff"] == pytest.approx(1.0)
    assert c["cohens_dz"] is None and any("infinite" in n for n in c["effect_size_notes"])
    assert c["wilcoxon"]["p_value"] == pytest.approx(2 / 2**4) and c["wilcoxon"]["method"] == "permutation"
    assert c["adopt"] is False and "neither score gained 5 points with p < 0.05" in c["decision"]
    assert "total +100.0 points (p = 0.125" in c["decision"]
    assert json.loads(json.dumps(rep, allow_nan=False)) == rep  # never NaN / inf
    assert validate(rep, "comparison-report") == []  # needs cohens_dz/hedges_gz nullable in the schema


@pytest.mark.parametrize(
    "total,content,adopt,why",
    [
        ((0.05, 0.01), (0.0, 0.9), True, "total better"),
        ((0.85 - 0.80, 0.01), (0.1, 0.01), True, "total and content better"),
        ((0.0, 1.0), (0.2, 0.001), True, "content better"),
        ((0.049, 0.001), (0.0, 1.0), False, "neither score gained"),
        ((0.30, 0.05), (0.01, 0.5), False, "neither score gained"),
        ((-0.2, 0.001), (0.0, 1.0), False, "total significantly worse"),
        # the fine-tune that learns the format and loses the content is not adopted
        ((0.5, 0.001), (-0.1, 0.01), False, "content significantly worse"),
        # a worse score that is not significant does not block
        ((0.5, 0.001), (-0.1, 0.2), True, "total better"),
    ],
)
def test_decision_rule(total, content, adopt, why):
    tests = {"total": (*total, "exact"), "content": (*content, "exact")}
    got, sentence = decide("ft", "base", tests, 20)
    assert got is adopt
    assert sentence.startswith("Adopt ft over base:" if adopt else "Keep base (the simpler model) over ft:")
    assert why in sentence and "n = 20" in sentence


def test_parse_run_arg():
    assert parse_run_arg("base=a/b.jsonl")[0] == "base"
    from ba_io import UsageError

    for bad in ("base", "=x.jsonl", "a b=x", "base=", "a\n=x.jsonl"):  # campaign 24: a final newline passed
        with pytest.raises(UsageError):
            parse_run_arg(bad)


def test_markdown_and_table(files):
    rep = compare_runs([("baseline", files[0]), ("finetuned", files[1])], n_bootstrap=200).report
    md = comparison_markdown(rep)
    assert "| model | spec | runs | total | std across runs | 95% CI | content | content 95% CI |" in md
    assert "| baseline |" in md and "| finetuned | total | +" in md and "| finetuned | content | " in md
    assert "comparison.png" in md and "### Decisions" in md and "## Content defects" in md
    table = summary_table(rep).splitlines()
    assert table[0].split() == [
        "model",
        "n",
        "total",
        "95%",
        "CI",
        "content",
        "95%",
        "CI",
        "grounding",
        "runaway",
        "tokens/s",
    ]
    assert table[2].startswith("baseline") and f"{rep['models'][0]['mean']:.3f}" in table[2]


# ------------------------------------------------------------------ the CLI


def test_cli_writes_reports(files, tmp_path, capsys):
    out = tmp_path / "reports"
    rc = cli_main(
        "compare",
        "--run",
        f"baseline={files[0]}",
        "--run",
        f"finetuned={files[1]}",
        "-o",
        str(out),
        "--bootstrap",
        "300",
        "--print-table",
    )
    assert rc == 0
    rep = json.loads((out / "comparison.json").read_text())
    assert validate(rep, "comparison-report") == []
    png = (out / "comparison.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    assert matplotlib.image.imread(out / "comparison.png").shape[0] > 100
    assert "| baseline |" in (out / "comparison.md").read_text()
    assert (out / "scored" / "finetuned.scored.jsonl").is_file()
    assert capsys.readouterr().out.startswith("model")
    assert cli_main("summary-table", str(out / "comparison.json")) == 0
    assert "finetuned" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args,rc,line",
    [
        (["--run", "nofile"], 2, "Error: --run expects NAME=PREDICTIONS.jsonl, got 'nofile'"),
        (["--run", "a=missing.jsonl"], 2, "Error: input file not found: missing.jsonl"),
        (
            ["--run", f"a={DATA / 'preds_ok.jsonl'}", "--run", f"a={DATA / 'preds_ok.jsonl'}"],
            2,
            "Error: --run names must be unique; repeated: a",
        ),
        (
            ["--run", f"a={DATA / 'preds_duplicate.jsonl'}"],
            1,
            f"Error: {DATA / 'preds_duplicate.jsonl'}:3: duplicate prediction for id 'a' run 0 (first on line 1)",
        ),
        (
            ["--run", f"a={DATA / 'preds_missing_text.jsonl'}"],
            1,
            f"Error: {DATA / 'preds_missing_text.jsonl'}:2: (root): 'text' is a required property",
        ),
        (
            ["--run", f"a={DATA / 'preds_two_models.jsonl'}"],
            1,
            f"Error: {DATA / 'preds_two_models.jsonl'}: predictions of several models in one file (m, other)",
        ),
        (
            ["--run", f"a={DATA / 'preds_ok.jsonl'}", "--run", f"b={DATA / 'preds_other_concept.jsonl'}"],
            1,
            f"Error: {DATA / 'preds_other_concept.jsonl'}: id 'a' has another concept than in "
            f"{DATA / 'preds_ok.jsonl'} (run files must answer the same concepts)",
        ),
        (
            ["--run", f"a={DATA / 'preds_ok.jsonl'}", "--run", f"b={DATA / 'preds_disjoint.jsonl'}"],
            1,
            f"Error: {DATA / 'preds_ok.jsonl'}: no example has all its runs in every run file; nothing to compare",
        ),
    ],
)
def test_cli_errors(args, rc, line, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli_main("compare", *args, "-o", str(tmp_path / "o")) == rc
    assert capsys.readouterr().err.strip().splitlines()[-1] == line
    assert not (tmp_path / "o" / "comparison.json").exists()


def test_compare_never_writes_a_report_over_a_prediction_file_and_bounds_the_bootstrap(tmp_path, capsys):
    """The campaign: `--run a=OUT/scored/a.scored.jsonl --out-dir OUT` overwrote that input with its own
    scores; `--bootstrap 99999999999` was a 745 GiB MemoryError."""
    out = tmp_path / "rep"
    (out / "scored").mkdir(parents=True)
    inp = out / "scored" / "a.scored.jsonl"
    inp.write_bytes((DATA / "preds_ok.jsonl").read_bytes())
    rc = cli_main(
        "compare",
        "--run",
        f"a={inp}",
        "--run",
        f"b={DATA / 'preds_ok.jsonl'}",
        "-o",
        str(out),
        "--bootstrap",
        "50",
    )
    err = capsys.readouterr().err
    assert rc == 2 and "--run a and the report a.scored.jsonl are the same file" in err and err.count("\n") == 1
    assert inp.read_bytes() == (DATA / "preds_ok.jsonl").read_bytes()
    assert not (out / "comparison.json").exists()
    rc = cli_main(
        "compare",
        "--run",
        f"a={DATA / 'preds_ok.jsonl'}",
        "--run",
        f"b={DATA / 'preds_ok.jsonl'}",
        "-o",
        str(tmp_path / "r2"),
        "--bootstrap",
        "99999999999",
    )
    err = capsys.readouterr().err
    assert rc == 2 and "must be at most 1,000,000" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "name, content",
    [
        ("comparison.json", '{"note": "mine"}\n'),
        ("comparison.md", "# My notes on the models\n"),
        ("comparison.html", "<!DOCTYPE html>\n<html><title>my page</title></html>\n"),
        ("comparison.png", "\x89PNG\r\n\x1a\n my own figure"),
        ("scored/a.scored.jsonl", '{"mine": 1}\n'),
    ],
)
def test_compare_never_replaces_a_file_of_the_users_in_its_folder(tmp_path, capsys, name, content):
    """Campaign 17: `compare -o DIR` replaced a comparison.md, comparison.json or scored file
    the user kept in DIR, without a word. Each is refused before any work; the files an
    earlier comparison wrote are replaced by the next one."""
    out = tmp_path / "rep"
    (out / "scored").mkdir(parents=True)
    (out / name).write_bytes(content.encode("latin-1"))
    args = ("compare", "--run", f"a={DATA / 'preds_ok.jsonl'}", "--run", f"b={DATA / 'preds_ok.jsonl'}")
    rc = cli_main(*args, "-o", str(out), "--bootstrap", "50")
    err = capsys.readouterr().err
    assert rc == 2 and "(a file of yours?)" in err and err.count("\n") == 1
    assert (out / name).read_bytes() == content.encode("latin-1")
    assert sorted(p.name for p in out.iterdir()) == sorted({"scored", name.split("/")[0]})
    (out / name).unlink()
    assert cli_main(*args, "-o", str(out), "--bootstrap", "50") == 0
    first = {n: (out / n).read_bytes() for n in ("comparison.json", "comparison.png", "scored/a.scored.jsonl")}
    assert cli_main(*args, "-o", str(out), "--bootstrap", "50") == 0  # its own files: replaced
    assert first == {n: (out / n).read_bytes() for n in first}


def test_a_users_png_beside_an_earlier_comparison_is_kept(tmp_path, capsys):
    """Campaign 32: once a comparison was in DIR, any PNG at DIR/comparison.png was taken for
    its figure (an allowance for figures from before the marker), and a chart the user saved
    there was replaced, exit 0."""
    out = tmp_path / "rep"
    args = ("compare", "--run", f"a={DATA / 'preds_ok.jsonl'}", "--run", f"b={DATA / 'preds_ok.jsonl'}")
    assert cli_main(*args, "-o", str(out), "--bootstrap", "50") == 0
    mine = b"\x89PNG\r\n\x1a\n my own chart, saved by matplotlib"
    (out / "comparison.png").write_bytes(mine)
    capsys.readouterr()
    assert cli_main(*args, "-o", str(out), "--bootstrap", "50") == 2
    assert "comparison.png exists and is not a comparison's figure" in capsys.readouterr().err
    assert (out / "comparison.png").read_bytes() == mine


@pytest.mark.parametrize("name", ["comparison.html", "scored"])
def test_compare_never_writes_through_a_link_in_its_folder(tmp_path, capsys, name):
    """Campaign 17: a linked comparison.html was written through into the file it points at."""
    out, elsewhere = tmp_path / "rep", tmp_path / "elsewhere"
    out.mkdir()
    if name == "scored":
        elsewhere.mkdir()
    else:
        elsewhere.write_text("keep me")
    (out / name).symlink_to(elsewhere)
    rc = cli_main(
        "compare", "--run", f"a={DATA / 'preds_ok.jsonl'}", "--run", f"b={DATA / 'preds_ok.jsonl'}", "-o", str(out)
    )
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1, err
    assert (out / name).is_symlink() and not (out / "comparison.json").exists()
    assert (elsewhere.read_text() == "keep me") if name != "scored" else list(elsewhere.iterdir()) == []


def test_summary_table_of_an_edited_report_is_one_error_or_one_line_per_model(files, tmp_path, capsys):
    """A hand-edited report: a score outside [0, 1] is refused naming its field; a label or
    model name with a newline stays on its row; a huge tokens/s is a short cell."""
    rep = compare_runs([("baseline", files[0]), ("finetuned", files[1])], n_bootstrap=200).report
    path = tmp_path / "comparison.json"
    rep["models"][1]["mean"] = 1e308
    path.write_text(json.dumps(rep))
    assert cli_main("summary-table", str(path)) == 1
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith(f"Error: {path}: ")
        and "models -> 1 -> mean: 1e+308 is greater than the maximum of 1" in err
        and "\n" not in err
    )
    for field, value, says in (  # campaign 20: fields the table formats, all in the schema now
        ("content_ci95", [0.5], "is too short"),
        ("completion_tokens_per_s", "x", "is not of type"),
        ("n", "4\n2", "is not of type 'integer'"),
    ):
        bad = json.loads(json.dumps(rep))
        bad["models"][1]["mean"] = 0.5
        bad["models"][1][field] = value
        path.write_text(json.dumps(bad))
        assert cli_main("summary-table", str(path)) == 1
        err = capsys.readouterr().err
        assert f"models -> 1 -> {field}: " in err and says in err and "\n" not in err.strip()
    rep["models"][1]["mean"] = 0.5
    rep["models"][1]["name"] = "fine\ntuned"
    rep["models"][1]["completion_tokens_per_s"] = 1e308
    path.write_text(json.dumps(rep))
    assert cli_main("summary-table", f"va\nl={path}") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[3].startswith("va\\nl  fine\\ntuned") and "1e+308" in lines[3] and len(lines[3]) < 200
