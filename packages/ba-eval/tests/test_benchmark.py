"""benchmark: the selection rule, and one real run of the tiny model through the CLI."""

from __future__ import annotations

import json

import pytest
from conftest import DATA, cli_main, run_cli

from ba_eval.benchmark import prediction_names, select, slug
from ba_eval.report import benchmark_markdown, summary_table
from ba_io import validate


def _m(name, mean):
    return {"model": name, "mean_score": mean}


def test_select_best_passing():
    chosen, why = select([_m("a", 0.70), _m("b", 0.90), _m("c", 0.60)], 0.65)
    assert chosen == "b"
    assert why.startswith("Selected b: mean score 0.900 >= 0.65, the best of 2 candidate(s)")


def test_select_none_passing_names_the_best():
    chosen, why = select([_m("a", 0.41), _m("b", 0.30)], 0.65)
    assert chosen is None and why == "No candidate reached 0.65; the best was a at 0.410."


def test_select_threshold_inclusive_and_ties_keep_first():
    assert select([_m("a", 0.65), _m("b", 0.65)], 0.65)[0] == "a"


def test_slug():
    assert slug("hf:artifacts/m+lora:x/y") == "hf-artifacts-m-lora-x-y"
    assert slug("ollama:llama3.2:1b") == "ollama-llama3.2-1b"


@pytest.mark.integration
def test_benchmark_tiny_model_cli(tiny_model, tmp_path):
    out = tmp_path / "bench" / "select.json"
    r = run_cli(
        "benchmark",
        "--model",
        f"hf:{tiny_model}",
        "--dataset",
        "curated",
        "--limit",
        "2",
        "--max-new-tokens",
        "6",
        "--output",
        str(out),
        "--print-table",
    )
    assert r.returncode == 0, r.stderr
    rep = json.loads(out.read_text())
    assert validate(rep, "benchmark-report") == []
    (m,) = rep["models"]
    assert rep["dataset"] == "curated" and rep["threshold"] == 0.65 and m["n"] == 2
    assert m["peak_rss_mb"] > 50  # the child imported torch and loaded a model
    assert m["elapsed_s"] > m["generate_s"] > 0 and m["completion_tokens_per_s"] > 0
    assert m["passes_threshold"] is False and rep["selected"] is None  # random weights write no YAML
    assert rep["decision"].startswith("No candidate reached 0.65; the best was hf:")
    assert set(m["component_pass_rates"]) >= {"completeness", "fr_ids"}
    preds = out.parent / "select.predictions"
    assert len((preds / f"{slug(f'hf:{tiny_model}')}.jsonl").read_text().splitlines()) == 2
    md = out.with_suffix(".md").read_text()
    assert "| model | n | mean score |" in md and "**Decision:** No candidate reached" in md
    assert r.stdout.splitlines()[0].split()[:5] == ["model", "n", "total", "95%", "CI"]


def _report():
    return {
        "dataset": "d.jsonl",
        "threshold": 0.65,
        "selected": "a",
        "decision": "Selected a.",
        "models": [
            {
                "model": "a",
                "n": 3,
                "mean_score": 0.8,
                "std_score": 0.1,
                "ci95": [0.7, 0.9],
                "content_mean": 0.6,
                "content_ci95": [0.5, 0.7],
                "runaway_rate": 0.0,
                "defect_rates": {"duplicate": 1 / 3},
                "yaml_valid_rate": 1.0,
                "component_pass_rates": {"title": 1.0},
                "mean_grounding": 0.5,
                "elapsed_s": 2.0,
                "completion_tokens_per_s": 12.5,
                "peak_rss_mb": None,
                "passes_threshold": True,
            }
        ],
    }


def test_benchmark_markdown_and_table():
    rep = _report()
    assert validate(rep, "benchmark-report") == []
    md = benchmark_markdown(rep)
    assert (
        "| `a` | 3 | 0.800 | 0.100 | [0.700, 0.900] | 0.600 | [0.500, 0.700] | 0% | 100% | 0.500 | 2.0 | 12.5 "
        "| n/a | yes |"
    ) in md
    assert "| duplicate | 33% |" in md
    table = summary_table(rep)
    assert "12.5" in table and table.endswith("Selected a.")


def test_benchmark_errors(tmp_path, capsys):
    assert (
        cli_main("benchmark", "--model", "nonsense", "--dataset", "curated", "--output", str(tmp_path / "s.json")) == 2
    )
    assert capsys.readouterr().err.strip().startswith("Error: unknown model spec 'nonsense'")
    assert (
        cli_main(
            "benchmark",
            "--model",
            "smollm2",
            "--dataset",
            str(DATA / "concepts_dup_id.jsonl"),
            "--output",
            str(tmp_path / "s.json"),
        )
        == 1
    )
    assert capsys.readouterr().err.strip() == f"Error: {DATA / 'concepts_dup_id.jsonl'}:2: id 'a' repeats line 1"
    assert (
        cli_main(
            "benchmark",
            "--model",
            "smollm2",
            "--model",
            "smollm2",
            "--dataset",
            "curated",
            "--output",
            str(tmp_path / "s.json"),
        )
        == 2
    )
    assert capsys.readouterr().err.strip() == "Error: --model repeated: smollm2"


@pytest.mark.parametrize("case", ["linked predictions", "user's timings", "linked folder"])
def test_benchmark_never_writes_through_a_link_or_over_a_file_of_the_users(tiny_model, tmp_path, capsys, case):
    """Campaign 17: a link at REPORT.predictions/MODEL.jsonl was written through into the
    file it points at. Links there, a linked predictions folder and files of the user's at
    the names the children write are refused before any model runs."""
    spec = f"hf:{tiny_model}"
    out, elsewhere = tmp_path / "select.json", tmp_path / "elsewhere"
    preds = tmp_path / "select.predictions"
    if case == "linked folder":
        elsewhere.mkdir()
        preds.symlink_to(elsewhere)
    else:
        preds.mkdir()
        elsewhere.write_text("keep me\n")
        if case == "linked predictions":
            (preds / f"{slug(spec)}.jsonl").symlink_to(elsewhere)
        else:
            (preds / f"{slug(spec)}.timings.json").write_text('{"mine": true}\n')
    rc = cli_main("benchmark", "--model", spec, "--dataset", "curated", "--limit", "1", "--output", str(out))
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith("Error: "), err
    assert not out.exists()
    if case == "linked folder":
        assert list(elsewhere.iterdir()) == []
    else:
        assert elsewhere.read_text() == "keep me\n"
    if case == "user's timings":
        assert (preds / f"{slug(spec)}.timings.json").read_text() == '{"mine": true}\n'


def test_a_benchmark_killed_before_its_first_row_is_run_again(tiny_model, tmp_path, capsys):
    """Campaign 43 (A r1): a benchmark killed after its child made REPORT.predictions/MODEL.jsonl
    and before the first row left that file empty, and every rerun was refused as "not a
    benchmark's predictions (a file of yours?)". An empty predictions file is what such a kill
    leaves: the rerun resumes it; a file of the user's with other content is still refused."""
    spec = f"hf:{tiny_model}"
    out, preds = tmp_path / "select.json", tmp_path / "select.predictions"
    preds.mkdir()
    (preds / f"{slug(spec)}.jsonl").write_bytes(b"")
    args = ("benchmark", "--model", spec, "--dataset", "curated", "--limit", "1", "--max-new-tokens", "4")
    assert cli_main(*args, "--output", str(out)) == 0, capsys.readouterr().err
    assert out.is_file() and len((preds / f"{slug(spec)}.jsonl").read_text().splitlines()) == 1
    (preds / f"{slug(spec)}.jsonl").write_text("my notes\n")
    assert cli_main(*args, "--output", str(out)) == 2
    assert "is not a benchmark's predictions (a file of yours?)" in capsys.readouterr().err


def test_two_models_with_one_slug_keep_their_own_predictions():
    """Campaign 18: `--model hf:m-x --model hf:m/x` share the slug hf-m-x, and the second
    model's predictions replaced the first's (exit 0)."""
    names = prediction_names(["hf:m-x", "hf:m/x", "smollm2"])
    assert names["smollm2"] == "smollm2" and len(set(names.values())) == 3
    assert names["hf:m-x"].startswith("hf-m-x-") and names["hf:m/x"].startswith("hf-m-x-")
    assert prediction_names(["hf:m-x", "hf:m/x"]) == {k: v for k, v in names.items() if k != "smollm2"}


def test_an_output_named_like_its_predictions_folder_is_refused_before_any_model(tiny_model, tmp_path, capsys):
    """Campaign 18: `-o rep.predictions` is also the predictions folder's name; it was refused
    only after generating, and left that folder behind."""
    out = tmp_path / "rep.predictions"
    rc = cli_main("benchmark", "--model", f"hf:{tiny_model}", "--dataset", "curated", "--limit", "1", "-o", str(out))
    err = capsys.readouterr().err
    assert rc == 2 and "the predictions folder" in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def test_the_report_and_its_markdown_are_written_together(tmp_path, monkeypatch, capsys):
    """Campaign 18: when REPORT.md could not be written, REPORT.json was already in place
    (and the error said nothing was written)."""
    import ba_eval.benchmark
    import ba_eval.cli

    monkeypatch.setattr(ba_eval.benchmark, "run_benchmark", lambda *a, **k: _report())

    def fail(path, text):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(ba_eval.cli, "write_text", fail)
    out = tmp_path / "select.json"
    rc = cli_main("benchmark", "--model", "smollm2", "--dataset", "curated", "-o", str(out))
    assert rc == 2 and "No space left on device" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("signum", [15, 9])
def test_a_candidates_child_never_outlives_the_benchmark(tmp_path, signum):
    """Campaign 43 (A r2): `kill PID` (SIGTERM) of a benchmark, or kill -9, left its generate
    child running, holding the lock and writing the predictions after the user thought the run
    was over. A SIGTERM ends the child first; a child whose parent dies gets SIGTERM."""
    import os
    import signal
    import subprocess
    import sys
    import time

    pidfile = tmp_path / "child.pid"
    child = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    runner = f"import sys\nfrom ba_eval.benchmark import _run_child\n_run_child([sys.executable, '-c', {child!r}])\n"
    proc = subprocess.Popen([sys.executable, "-c", runner])
    for _ in range(600):
        if pidfile.exists() and pidfile.read_text():
            break
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    os.kill(proc.pid, signum)
    assert proc.wait(timeout=60) in (143, -signal.SIGKILL)
    for _ in range(200):  # the child is gone (reaped by init) within seconds
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        if open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z":
            break  # a zombie: it has ended
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        raise AssertionError("the child outlived the benchmark")
