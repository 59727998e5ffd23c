"""``python -m ba_eval`` = the ``ba-eval`` console script (benchmark runs candidates this way)."""

from .cli import main

main()
