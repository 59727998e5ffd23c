"""The public API is pinned; the package stands alone (pyyaml only)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires, version

import ba_metric


def test_all_is_pinned():
    assert ba_metric.__all__ == [
        "COMPONENTS",
        "DEFAULT_THRESHOLD",
        "DEFECTS",
        "ParseError",
        "Score",
        "__version__",
        "ba_requirements_metric",
        "document_from_fields",
        "grounding",
        "load_yaml",
        "parse",
        "render",
        "render_category",
        "score",
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
