"""Phase 8.7 (`make iterate`): the failure analysis, and a round's decision: a worse candidate is
never adopted (adopted.json unchanged, the history says why), a better one is."""

from __future__ import annotations

import json
import threading
import time

import pytest
from conftest import cli_main, pred_row, write_rows

from ba_eval.failures import analyse_failures
from ba_eval.iteration import record_round, start_round
from ba_io import UsageError, output_lock, read_jsonl, validate, write_jsonl
from ba_metric import render


def _partial(row: dict) -> str:
    return render(row).split("non_functional_requirements")[0]


def _concepts(tmp_path, curated_rows, n=12):
    """Concept rows for the first n curated concepts, with the generator's grouping fields."""
    rows = []
    for k, r in enumerate(curated_rows[:n]):
        rows.append(
            {
                "id": r["id"],
                "concept": r["concept"],
                "domain": "legal" if k < 4 else "retail",
                "structure": "bullets" if k % 2 else "oneliner",
                "style": "plain",
                "language": "en",
            }
        )
    return write_rows(tmp_path / "concepts.jsonl", rows)


def test_failures_group_the_failing_documents_and_target_the_worst_groups(tmp_path, curated_rows):
    concepts = _concepts(tmp_path, curated_rows)
    preds = [
        pred_row(r["id"], r["concept"], 0, _partial(r) if k < 4 else render(r), model="m", decoding={"mode": "greedy"})
        for k, r in enumerate(curated_rows[:12])
    ]
    path = write_rows(tmp_path / "preds.jsonl", preds)
    a = analyse_failures(path, concepts)
    assert validate(a, "failure-analysis") == []
    assert a["n"] == 12 and a["failing"] >= 4
    legal = next(g for g in a["groups"]["domain"] if g["value"] == "legal")
    assert legal["failing"] == 4 and legal["failure_share"] == 1.0
    assert a["targets"]["domains"] == ["legal"]  # the only group above the overall failure share
    assert a["targets"]["languages"] == []  # one language: no restriction
    assert set(a["failing_ids"]) >= {r["id"] for r in curated_rows[:4]}
    # the CLI writes the JSON with its .md and .html beside it, together
    out = tmp_path / "rep" / "failures.json"
    assert cli_main("failures", "--predictions", str(path), "--concepts", str(concepts), "-o", str(out)) == 0
    assert json.loads(out.read_text())["targets"]["domains"] == ["legal"]
    assert "## By domain" in out.with_suffix(".md").read_text()
    assert "<h2>By domain</h2>" in out.with_suffix(".html").read_text()


def test_failures_never_replace_a_users_file_at_their_md_or_html_name(tmp_path, curated_rows, capsys):
    """Campaign 30: `ba-eval failures -o F.json` replaced a user's F.md and F.html, exit 0."""
    concepts = _concepts(tmp_path, curated_rows, n=2)
    path = write_rows(
        tmp_path / "preds.jsonl", [pred_row(r["id"], r["concept"], 0, render(r)) for r in curated_rows[:2]]
    )
    out = tmp_path / "F.json"
    args = ("failures", "--predictions", str(path), "--concepts", str(concepts), "-o", str(out))
    for name, mine in (("F.md", "my meeting notes\n"), ("F.html", "<p>my page</p>\n")):
        (tmp_path / name).write_text(mine)
        assert cli_main(*args) == 2
        assert f"{name} exists and is not the {'Markdown' if name.endswith('md') else 'HTML page'} of F.json" in (
            capsys.readouterr().err
        )
        assert (tmp_path / name).read_text() == mine and not out.exists()
        (tmp_path / name).unlink()
    assert cli_main(*args) == 0
    assert cli_main(*args) == 0  # its own earlier .md and .html are replaced
    assert out.with_suffix(".md").read_text().startswith("# Failure analysis")


def test_two_analyses_never_share_their_pages(tmp_path, curated_rows, capsys):
    """Campaign 32: `failures -o F.json` and then `-o F` (two outputs) wrote the same F.md
    and F.html: the second run replaced the first one's, and F.json stood beside the pages
    of another analysis, exit 0. Each page names its report; a page of another is refused."""
    concepts = _concepts(tmp_path, curated_rows, n=2)
    path = write_rows(
        tmp_path / "preds.jsonl", [pred_row(r["id"], r["concept"], 0, render(r)) for r in curated_rows[:2]]
    )
    base = ("failures", "--predictions", str(path), "--concepts", str(concepts), "-o")
    assert cli_main(*base, str(tmp_path / "F.json")) == 0
    pages = {n: (tmp_path / n).read_bytes() for n in ("F.md", "F.html")}
    assert all(b'<!-- ba-eval output: "F.json" -->' in page for page in pages.values())
    capsys.readouterr()
    assert cli_main(*base, str(tmp_path / "F")) == 2
    assert "F.md exists and is not the Markdown of F (a file of yours?)" in capsys.readouterr().err
    assert pages == {n: (tmp_path / n).read_bytes() for n in pages} and not (tmp_path / "F").exists()
    legacy = tmp_path / "F.md"  # a page from before the comment: its command's, as before
    legacy.write_text("# Failure analysis\nan older page\n")
    assert cli_main(*base, str(tmp_path / "F.json")) == 0


def test_failures_refuse_predictions_of_other_concepts(tmp_path, curated_rows):
    concepts = _concepts(tmp_path, curated_rows, n=2)
    r = curated_rows[5]
    path = write_rows(tmp_path / "preds.jsonl", [pred_row(r["id"], r["concept"], 0, render(r))])
    assert (
        cli_main("failures", "--predictions", str(path), "--concepts", str(concepts), "-o", str(tmp_path / "f.json"))
        == 1
    )
    assert not (tmp_path / "f.json").exists()


def _round(tmp_path, curated_rows, *, candidate_good: bool, current_good: bool = True):
    """A started round whose candidate writes full (good) or cut (worse) documents on 10
    curated concepts, compared with `ba-eval compare` against the current model's."""
    it = tmp_path / "it"
    rows = curated_rows[:10]

    def preds(name, good):
        return write_rows(
            tmp_path / f"{name}.jsonl",
            [pred_row(r["id"], r["concept"], 0, render(r) if good else _partial(r), model=name) for r in rows],
        )

    cur, nxt = preds("current", current_good), preds("next", candidate_good)
    train = write_rows(tmp_path / "train.jsonl", [{"id": "a"}])
    added = write_rows(tmp_path / "added.jsonl", [{"id": "r1-c0001"}])
    cand_train = write_rows(tmp_path / "cand_train.jsonl", [{"id": "a"}, {"id": "r1-c0001"}])
    start_round(
        it,
        1,
        {
            "adapter": str(tmp_path / "ft"),
            "train": str(train),
            "val_predictions": str(cur),
            "curated_predictions": str(cur),
        },
    )
    rep = tmp_path / "rep"
    assert (
        cli_main("compare", "--run", f"current={cur}", "--run", f"next={nxt}", "-o", str(rep), "--bootstrap", "200")
        == 0
    )
    concepts = _concepts(tmp_path, curated_rows, n=10)
    failures = tmp_path / "failures.json"
    assert cli_main("failures", "--predictions", str(cur), "--concepts", str(concepts), "-o", str(failures)) == 0
    candidate = {
        "adapter": str(tmp_path / "cand"),
        "train": str(cand_train),
        "val_predictions": str(nxt),
        "curated_predictions": str(nxt),
    }
    return it, candidate, rep / "comparison.json", failures, added


def test_a_worse_candidate_is_not_adopted(tmp_path, curated_rows):
    it, candidate, report, failures, added = _round(tmp_path, curated_rows, candidate_good=False)
    before = (it / "adopted.json").read_bytes()
    row = record_round(it, 1, candidate, curated_report=report, val_report=report, failures=failures, added=added)
    assert row["adopted"] is False and row["decision"].startswith("kept the model of round 0")
    assert row["curated"]["total_diff"] < 0 and row["curated"]["total_p"] < 0.05
    assert (it / "adopted.json").read_bytes() == before  # the adopted model is unchanged
    history = read_jsonl(it / "history.jsonl", "iteration")
    assert [h["round"] for h in history] == [1] and history[0]["adopted"] is False
    assert json.loads((it / "round-1" / "decision.json").read_text())["adopted"] is False
    assert (it / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "kept" in (it / "history.md").read_text()
    # round 2 starts from the model round 1 kept
    assert start_round(it, 2, {})["round"] == 0


def test_a_better_candidate_is_adopted_and_recording_again_replaces_the_row(tmp_path, curated_rows):
    it, candidate, report, failures, added = _round(tmp_path, curated_rows, candidate_good=True, current_good=False)
    args = ["--dir", str(it), "--round", "1", "--adapter", candidate["adapter"], "--train", candidate["train"]]
    args += [
        "--val-predictions",
        candidate["val_predictions"],
        "--curated-predictions",
        candidate["curated_predictions"],
    ]
    args += ["--curated-report", str(report), "--val-report", str(report), "--failures", str(failures)]
    args += ["--added", str(added)]
    assert cli_main("iterate-record", *args) == 0
    adopted = json.loads((it / "adopted.json").read_text())
    assert adopted["round"] == 1 and adopted["adapter"] == candidate["adapter"]
    assert cli_main("iterate-record", *args) == 0  # a rerun of the decision: still one row for round 1
    history = read_jsonl(it / "history.jsonl", "iteration")
    assert len(history) == 1 and history[0]["adopted"] is True
    assert history[0]["data_added"]["rows"] == 1 and history[0]["data_added"]["train_rows"] == 2
    assert start_round(it, 2, {})["adapter"] == candidate["adapter"]


def test_a_round_needs_the_previous_decision_and_a_start(tmp_path):
    with pytest.raises(Exception, match="round 1 .* no decision.json"):
        start_round(tmp_path / "it", 2, {})
    with pytest.raises(Exception, match="give the starting model"):
        start_round(tmp_path / "it", 1, {"adapter": "x"})
    assert not (tmp_path / "it" / "adopted.json").exists()


def test_an_earlier_round_is_not_decided_again_after_a_later_one(tmp_path, curated_rows):
    """Campaign 26: recording round 1 again after round 2 was decided rewound adopted.json
    to round 1's model, under round 2's decision that rested on it."""
    it, candidate, report, failures, added = _round(tmp_path, curated_rows, candidate_good=True, current_good=False)
    figures = {"curated_report": report, "val_report": report, "failures": failures, "added": added}
    record_round(it, 1, candidate, **figures)
    start_round(it, 2, {})
    later = dict(candidate, adapter=str(tmp_path / "cand2"))
    record_round(it, 2, later, **figures)
    state = {p.name: p.read_bytes() for p in it.iterdir() if p.is_file()}
    with pytest.raises(UsageError, match=r"round 2 was decided after round 1, from the model adopted then"):
        record_round(it, 1, candidate, **figures)
    assert {p.name: p.read_bytes() for p in it.iterdir() if p.is_file()} == state
    assert json.loads((it / "adopted.json").read_text())["round"] == 2


def test_two_rounds_recorded_at_once_keep_both_rows(tmp_path, curated_rows):
    """Campaign 26: two iterate-record runs read history.jsonl before either wrote it, and
    the second commit dropped the first one's row."""
    it, candidate, report, failures, added = _round(tmp_path, curated_rows, candidate_good=True, current_good=False)
    figures = {"curated_report": report, "val_report": report, "failures": failures, "added": added}
    (first,) = [record_round(it, 1, candidate, **figures)]
    start_round(it, 2, {})
    history = it / "history.jsonl"
    done: list = []
    with output_lock(history):  # another recorder is between its read and its commit
        worker = threading.Thread(target=lambda: done.append(record_round(it, 2, candidate, **figures)))
        worker.start()
        time.sleep(0.5)
        assert worker.is_alive() and not (it / "round-2" / "decision.json").exists()
        write_jsonl(history, [first, dict(first, round=7)], "iteration")  # its commit
    worker.join(30)
    assert done and [h["round"] for h in read_jsonl(history, "iteration")] == [1, 2, 7]


def test_a_round_never_replaces_a_users_history_page(tmp_path, curated_rows):
    """Campaign 31: iterate-record replaced a user's history.md and history.png, exit 0; its
    own earlier pages are still replaced."""
    it, candidate, report, failures, added = _round(tmp_path, curated_rows, candidate_good=True, current_good=False)
    figures = {"curated_report": report, "val_report": report, "failures": failures, "added": added}
    for name, mine in (("history.md", "my own notes\n"), ("history.png", "my picture\n")):
        (it / name).write_text(mine)
        with pytest.raises(UsageError, match=f"{name} exists and is not an iteration history"):
            record_round(it, 1, candidate, **figures)
        assert (it / name).read_text() == mine and not (it / "history.jsonl").exists()
        (it / name).unlink()
    record_round(it, 1, candidate, **figures)
    assert b"ba-eval iterate" in (it / "history.png").read_bytes()[:8192]
    start_round(it, 2, {})
    # campaign 32: from round 2 on, any PNG there was taken for the plot (an allowance for
    # plots from before the marker): a chart of the user's was replaced, exit 0
    mine = b"\x89PNG\r\n\x1a\n my own chart"
    (it / "history.png").write_bytes(mine)
    with pytest.raises(UsageError, match="history.png exists and is not an iteration history's plot"):
        record_round(it, 2, candidate, **figures)
    assert (it / "history.png").read_bytes() == mine
    (it / "history.png").unlink()
    record_round(it, 2, candidate, **figures)
    assert (it / "history.md").read_text().startswith("# make iterate: history")


def test_a_round_refuses_an_output_that_is_one_of_its_inputs(tmp_path, curated_rows):
    """Campaign 38 (r2): with a link `round-1/decision.json -> failures.json`, recording the
    round replaced the --failures input by the decision row, exit 0."""
    it, candidate, report, failures, added = _round(tmp_path, curated_rows, candidate_good=False)
    before = failures.read_bytes()
    (it / "round-1" / "decision.json").symlink_to(failures)
    with pytest.raises(UsageError, match="--failures and decision.json are the same file"):
        record_round(it, 1, candidate, curated_report=report, val_report=report, failures=failures, added=added)
    assert failures.read_bytes() == before and not (it / "history.jsonl").exists()
