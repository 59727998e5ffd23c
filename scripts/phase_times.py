"""Print the wall time of each pipeline phase from the log scripts/timed.py appends to.

Usage: python scripts/phase_times.py artifacts/timings.jsonl
The latest entry of each phase is shown (a phase skipped as up to date keeps its old time).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


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
    print(f"{'phase':<16}{'wall s':>10}  finished (UTC)")
    for phase, entry in latest.items():
        status = "" if entry.get("exit_code", 0) == 0 else f"  (exit {entry['exit_code']})"
        print(f"{phase:<16}{entry['seconds']:>10.1f}  {entry.get('finished', '')}{status}")
    print(f"{'total':<16}{sum(e['seconds'] for e in latest.values()):>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
