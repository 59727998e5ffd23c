"""ba-eval: prediction runs, model-selection benchmark and statistical model comparison.

Heavy imports (ba_llm, scipy, matplotlib) happen inside the functions that need them.
"""

import ba_io  # noqa: F401 - first: its start-up hook makes a Ctrl-C while we import one line

__version__ = "0.1.0"

from .benchmark import DEFAULT_THRESHOLD, run_benchmark, select  # noqa: E402
from .compare import ALPHA, MIN_GAIN, Comparison, compare_runs, decide, parse_run_arg  # noqa: E402
from .datasets import CURATED, PredictionFile, curated_path, load_concepts, resolve_dataset  # noqa: E402
from .generation import DecodingPlan, GenerateSummary, plan_decoding, run_generate  # noqa: E402
from .plots import comparison_png  # noqa: E402
from .report import benchmark_markdown, comparison_markdown, summary_table  # noqa: E402
from .scoring import component_pass_rates, distinct_output_rate, score_row  # noqa: E402
from .stats import bootstrap_ci, cohens_dz, hedges_j, wilcoxon_paired  # noqa: E402

__all__ = [
    "ALPHA",
    "CURATED",
    "Comparison",
    "DEFAULT_THRESHOLD",
    "DecodingPlan",
    "GenerateSummary",
    "MIN_GAIN",
    "PredictionFile",
    "__version__",
    "benchmark_markdown",
    "bootstrap_ci",
    "cohens_dz",
    "compare_runs",
    "comparison_markdown",
    "comparison_png",
    "component_pass_rates",
    "curated_path",
    "decide",
    "distinct_output_rate",
    "hedges_j",
    "load_concepts",
    "parse_run_arg",
    "plan_decoding",
    "resolve_dataset",
    "run_benchmark",
    "run_generate",
    "score_row",
    "select",
    "summary_table",
    "wilcoxon_paired",
]
