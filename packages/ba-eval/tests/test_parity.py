"""ba-eval parity: identical-document share, mean differences, where documents diverge."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from ba_eval.parity import first_difference, format_parity, parity
from ba_io import DataError, validate

GOOD = (
    "title: Bakery orders\ndescription: Online orders for a bakery.\nfunctional_requirements:\n"
    "  - id: FR001\n    description: The system shall let customers order bread online.\n    priority: High\n"
    "non_functional_requirements:\n  - id: NFR001\n    description: Pages shall load within 2 seconds.\n"
    "    priority: Medium\nconstraints:\n  - id: C001\n    description: The budget is $20,000.\n"
    "    priority: High\n"
)


def _preds(path, texts, model="m"):
    rows = [
        {
            "id": f"c{i}",
            "concept": "An online ordering site for a bakery.",
            "model": model,
            "run": 0,
            "text": t,
            "prompt_tokens": 10,
            "completion_tokens": 100,
            "latency_s": 2.0,
        }
        for i, t in enumerate(texts)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_first_difference_names_the_line():
    assert first_difference("a\nb\nc", "a\nb\nc") is None
    assert first_difference("a\nb\nc", "a\nX\nc") == {"line": 2, "reference": "b", "candidate": "X"}
    assert first_difference("a\nb", "a\nb\nc") == {"line": 3, "reference": None, "candidate": "c"}
    assert first_difference("a\n", "a") == {"line": 2, "reference": "", "candidate": ""}


def test_identical_files_pass_and_a_broken_document_is_found(tmp_path):
    ref = _preds(tmp_path / "ref.jsonl", [GOOD] * 4)
    same = parity(ref, _preds(tmp_path / "same.jsonl", [GOOD] * 4))
    assert same["identical"] == 4 and same["identical_share"] == 1.0 and same["passed"]
    assert same["mean_total_diff"] == 0.0 and same["differences"] == []
    assert same["candidate"]["tokens_per_s"] == pytest.approx(50.0)
    validate(same, "parity-report")

    broken = GOOD.replace("non_functional_requirements:", "nonfunctional:")
    report = parity(ref, _preds(tmp_path / "cand.jsonl", [GOOD, GOOD, broken, GOOD]), names=("hf", "gguf"))
    assert report["identical"] == 3 and report["identical_share"] == 0.75
    (d,) = report["differences"]
    assert d["id"] == "c2" and d["line"] == 7 and d["candidate"] == "nonfunctional:"
    assert report["mean_total_diff"] < -0.02 and not report["passed"]
    validate(report, "parity-report")
    text = format_parity(report)
    assert text.startswith("gguf vs hf on 4 documents: 3 identical (75%)") and "OUTSIDE +/-0.02" in text
    assert "c2: line 7: hf 'non_functional_requirements:' | gguf 'nonfunctional:'" in text


def test_cli_exit_code_report_file_and_mismatched_concepts(tmp_path):
    ref = _preds(tmp_path / "ref.jsonl", [GOOD] * 3)
    cand = _preds(tmp_path / "cand.jsonl", [GOOD, GOOD, "title: x"])
    res = run_cli("parity", "--reference", str(ref), "--candidate", str(cand), "-o", str(tmp_path / "p.json"))
    assert res.returncode == 1 and "OUTSIDE" in res.stdout, res.stderr
    assert json.loads((tmp_path / "p.json").read_text())["identical"] == 2
    res = run_cli("parity", "--reference", str(ref), "--candidate", str(ref))
    assert res.returncode == 2 and res.stderr.startswith("Error: --reference and --candidate are the same file")
    other = tmp_path / "other.jsonl"
    other.write_text(ref.read_text().replace("for a bakery", "for a florist", 1), encoding="utf-8")
    with pytest.raises(DataError, match="id 'c0' has another concept"):
        parity(ref, other)


def test_missing_documents_fail_the_check_and_names_are_plain(tmp_path):
    """Round-2 campaign: a candidate missing 3 documents passed; a failure said nothing on stderr;
    --names printed control characters raw."""
    ref = _preds(tmp_path / "ref.jsonl", [GOOD] * 4)
    short = tmp_path / "short.jsonl"
    short.write_text("".join(ref.read_text().splitlines(keepends=True)[:2]), encoding="utf-8")
    report = parity(ref, short)
    assert report["missing_in_candidate"] == ["c2", "c3"] and not report["passed"]
    assert "2 documents of reference missing in candidate: c2, c3" in format_parity(report)
    assert parity(short, ref)["extra_in_candidate"] == ["c2", "c3"]
    res = run_cli("parity", "--reference", str(ref), "--candidate", str(short))
    assert res.returncode == 1 and res.stderr == f"Error: {short}: not the documents of {ref} (2 documents missing)\n"
    res = run_cli("parity", "--reference", str(ref), "--candidate", str(short), "--names", "a", "b\nc")
    assert res.returncode == 2 and res.stderr.startswith("Error: --names 'b\\nc': use printable names")


def test_an_id_the_reference_has_no_run_0_of_is_not_missing_in_the_candidate(tmp_path):
    """Campaign 22 D6: the reference had `c3` only as run 1; the candidate's run 0 of it was
    listed both missing and extra, and parity failed."""
    ref = _preds(tmp_path / "ref.jsonl", [GOOD] * 4)
    rows = [json.loads(line) for line in ref.read_text().splitlines()]
    rows[3]["run"] = 1
    ref.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = parity(ref, _preds(tmp_path / "cand.jsonl", [GOOD] * 4))
    assert report["missing_in_candidate"] == [] and report["extra_in_candidate"] == ["c3"]
    assert report["n"] == 3 and report["passed"]
    # campaign 23: only run 1 of `c3` on both sides is neither missing nor extra; the
    # candidate's run 1 of an id the reference has run 0 of is missing, not also extra
    cand = _preds(tmp_path / "cand1.jsonl", [GOOD] * 4)
    cand.write_text(ref.read_text(encoding="utf-8"), encoding="utf-8")
    both = parity(ref, cand)
    assert both["missing_in_candidate"] == [] and both["extra_in_candidate"] == []
    rows[0]["run"] = 1
    cand.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    rows[0]["run"] = 0
    one_sided = parity(ref, cand)
    assert one_sided["missing_in_candidate"] == ["c0"] and one_sided["extra_in_candidate"] == []
