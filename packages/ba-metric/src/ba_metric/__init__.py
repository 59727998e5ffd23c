"""ba-metric: parse, render and score business-analysis requirements documents.

Depends on pyyaml only; imports no other ``ba_*`` package.
"""

# ruff: noqa: E402 - the start-up hook below comes before every other import
from ._startup import quiet_interrupt_at_start

quiet_interrupt_at_start()

from .content import DEFECTS
from .grounding import grounding
from .loader import load_yaml
from .metric import ba_requirements_metric
from .parse import CATEGORIES, ParseError, document_from_fields, parse
from .render import render, render_category
from .report import component_pass_rates, defect_rates, sample_sd, score_row, summarize
from .rules import ID_PREFIXES, PRIORITY_LEVELS
from .score import COMPONENTS, DEFAULT_THRESHOLD, Score, score

__version__ = "0.1.0"

__all__ = [
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
