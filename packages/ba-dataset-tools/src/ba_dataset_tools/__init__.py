"""ba-dataset-tools: validate, audit, fix, filter, split and describe requirements datasets."""

import ba_io  # noqa: F401 - first: its start-up hook makes a Ctrl-C while we import one line

from .audit import ISSUE_KINDS, audit_file, summary
from .fix import FixResult, derived_id, fix_file, fix_row
from .ids import canonical_id, id_ok, renumber
from .rows import CATEGORIES, PREFIXES, iter_lines, load_category, normalise_concept, row_form
from .selection import FilterResult, SplitResult, filter_file, row_score, split_file
from .stats import format_stats, stats_file
from .validate import SCHEMAS, ValidationReport, row_issues, validate_file

__version__ = "0.1.0"

__all__ = [
    "CATEGORIES",
    "FilterResult",
    "FixResult",
    "ISSUE_KINDS",
    "PREFIXES",
    "SCHEMAS",
    "SplitResult",
    "ValidationReport",
    "__version__",
    "audit_file",
    "canonical_id",
    "derived_id",
    "filter_file",
    "fix_file",
    "fix_row",
    "format_stats",
    "id_ok",
    "iter_lines",
    "load_category",
    "normalise_concept",
    "renumber",
    "row_form",
    "row_issues",
    "row_score",
    "split_file",
    "stats_file",
    "summary",
    "validate_file",
]
