"""The public API is pinned; the package stands alone (pyyaml only)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires, version

import pytest

import ba_metric
from ba_metric import COMPONENTS


def test_all_is_pinned():
    assert ba_metric.__all__ == [
        "CATEGORIES",
        "COMPONENTS",
        "DEFAULT_THRESHOLD",
        "DEFECTS",
        "ID_PREFIXES",
        "PRIORITY_LEVELS",
        "ParseError",
        "Score",
        "__version__",
        "ba_requirements_metric",
        "component_pass_rates",
        "defect_rates",
        "document_from_fields",
        "grounding",
        "load_yaml",
        "parse",
        "render",
        "render_category",
        "sample_sd",
        "score",
        "score_row",
        "summarize",
    ]
    for name in ba_metric.__all__:
        assert hasattr(ba_metric, name)


def test_version_matches_metadata():
    assert ba_metric.__version__ == version("ba-metric") == "0.1.0"


def test_depends_on_pyyaml_only():
    runtime = [r for r in requires("ba-metric") or [] if "extra ==" not in r]
    assert runtime == ["pyyaml>=6"]


def test_imports_no_sibling_package_and_no_dspy():
    code = (
        "import sys, ba_metric, ba_metric.cli\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('ba_', 'dspy')) and not m.startswith('ba_metric'))\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_one_sd_convention_and_the_shared_rates():
    """#15: ba-metric's summary used the population SD and ba-eval the sample SD; the rates
    were computed in both packages. One owner now: ba-metric."""
    from ba_metric import component_pass_rates, defect_rates, sample_sd

    assert sample_sd([]) is None and sample_sd([0.5]) == 0.0
    assert sample_sd([0.0, 1.0]) == pytest.approx(0.7071067811865476)  # ddof=1, not 0.5
    full = dict(COMPONENTS)
    rows = [
        {"breakdown": full, "defects": ["duplicate:FR002", "duplicate:FR003"]},
        {"breakdown": dict.fromkeys(COMPONENTS, 0.0), "defects": ["filler:NFR001"]},
    ]
    assert component_pass_rates(rows) == dict.fromkeys(COMPONENTS, 0.5)
    assert defect_rates(rows) == {"duplicate": 0.5, "filler": 0.5}
    assert component_pass_rates([]) == dict.fromkeys(COMPONENTS, 0.0) and defect_rates([]) == {}
