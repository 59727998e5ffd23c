"""ba-metric: parse, render and score business-analysis requirements documents.

Depends on pyyaml only; imports no other ``ba_*`` package.
"""

from .content import DEFECTS
from .grounding import grounding
from .loader import load_yaml
from .metric import ba_requirements_metric
from .parse import ParseError, document_from_fields, parse
from .render import render, render_category
from .score import COMPONENTS, DEFAULT_THRESHOLD, Score, score

__version__ = "0.1.0"

__all__ = [
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
