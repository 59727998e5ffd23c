"""Print the wall time and peak memory of each pipeline phase from the log scripts/timed.py appends to.

Usage: python scripts/phase_times.py artifacts/timings.jsonl
The latest entry of each phase is shown (a phase skipped as up to date keeps its old time).
`total` adds the phases' times up; `covered` is the time in which at least one of those phases
ran, side by side ones counted once (`make finetune` runs its evaluations EVAL_JOBS at a time);
gaps between phases (make's own work, or phases from different runs) are not in it.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path


def covered_seconds(entries: list[dict]) -> float | None:
    """Seconds covered by at least one phase: the union of the phases' [start, start + seconds].

    A phase starts at its ``started`` time, or (older logs, whole seconds) ``seconds`` before its
    ``finished`` one; an entry with neither is left out. None when no entry has a time.
    """
    spans = []
    for entry in entries:
        try:
            seconds = float(entry["seconds"])
            if "started" in entry:
                start = datetime.fromisoformat(entry["started"]).timestamp()
            else:
                start = datetime.fromisoformat(entry["finished"]).timestamp() - seconds
            spans.append((start, start + seconds))
        except (KeyError, TypeError, ValueError):
            continue
    if not spans:
        return None
    covered, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            covered += end - max(start, reach)
            reach = end
    return covered


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else Path("artifacts/timings.jsonl")
    if not path.exists():
        print(f"(no phase timings yet: {path})")
        return 0
    latest: dict[str, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            latest[entry["phase"]] = entry
        except (ValueError, KeyError, TypeError):
            continue  # a torn line from a killed run: timings are informational only
    print(f"{'phase':<24}{'wall s':>10}{'peak RSS MB':>13}  finished (UTC)")
    for phase, entry in latest.items():
        status = "" if entry.get("exit_code", 0) == 0 else f"  (exit {entry['exit_code']})"
        rss = entry.get("max_rss_mb")
        rss_text = f"{rss:>13.0f}" if isinstance(rss, (int, float)) else f"{'-':>13}"
        print(f"{phase:<24}{entry['seconds']:>10.1f}{rss_text}  {entry.get('finished', '')}{status}")
    peak = max(
        (e["max_rss_mb"] for e in latest.values() if isinstance(e.get("max_rss_mb"), (int, float))), default=None
    )
    print(
        f"{'total':<24}{sum(e['seconds'] for e in latest.values()):>10.1f}"
        f"{(f'{peak:>13.0f}' if peak is not None else f'{chr(45):>13}')}"
    )
    covered = covered_seconds(list(latest.values()))
    if covered is not None:
        print(f"{'covered (overlaps once)':<24}{covered:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
