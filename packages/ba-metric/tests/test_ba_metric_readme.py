"""The README's worked examples and rule table match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ba_metric import COMPONENTS, score

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONCEPT = "A mobile app for community garden members to reserve plots for the season."
ROW = re.compile(
    r"^\| `(?P<file>[\w.]+)` \| (?P<total>[\d.]+) \| (?P<points>[\d.]+) \| (?P<grounding>[\d.]+) \| "
    r"(?P<content>[\d.]+) \|",
    re.M,
)
EXAMPLES = {m["file"]: m for m in ROW.finditer(README)}


def test_all_example_files_are_in_the_readme():
    assert set(EXAMPLES) == {
        "perfect.yaml", "fenced_chatter.txt", "document.json", "fr01_ids.yaml",
        "partial.yaml", "json_list.json", "unparseable.txt",
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_worked_example_numbers(data_dir, name):
    row = EXAMPLES[name]
    result = score((data_dir / name).read_text(encoding="utf-8"), CONCEPT)
    assert result.total == float(row["total"])
    assert result.points == float(row["points"])
    assert result.grounding == float(row["grounding"])
    assert result.content == float(row["content"])


def test_partial_example_breakdown(data_dir):
    result = score((data_dir / "partial.yaml").read_text(), CONCEPT)
    assert {k: v for k, v in result.breakdown.items() if v} == {"completeness": 0.8, "fr_list": 0.5, "fr_count": 0.5}


def test_api_example(data_dir):
    result = score(
        (data_dir / "fr01_ids.yaml").read_text(), "A mobile app for community garden members to reserve plots"
    )
    assert (
        "(0.769231, 0.0, 0.75, None)" in README
        and "(0.87, ('nfr_unmeasurable:NFR02', 'unsupported_number:C02'))" in README
    )
    assert (result.total, result.breakdown["fr_ids"], result.grounding, result.error) == (0.769231, 0.0, 0.75, None)
    assert (result.content, result.defects) == (0.87, ("nfr_unmeasurable:NFR02", "unsupported_number:C02"))


def test_defect_table_lists_every_defect_with_its_weight():
    from ba_metric import DEFECTS

    for kind, (weight, _) in DEFECTS.items():
        if kind in ("unparseable", "uncovered"):
            assert f"`{kind}" in README
            continue
        row = re.search(rf"^\| `{kind}:[^`]*` \| ([\d.]+) \|", README, re.M)
        assert row is not None and float(row.group(1)) == weight, kind


def test_rule_table_lists_every_component():
    for name in COMPONENTS:
        assert f"`{name}`" in README
