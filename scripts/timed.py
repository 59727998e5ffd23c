"""Run one pipeline phase and record its wall time and peak memory.

Usage: python scripts/timed.py --log artifacts/timings.jsonl --phase train -- CMD [ARGS...]

Appends {"phase", "seconds", "max_rss_mb", "exit_code", "started", "finished"} to the log (one JSON
object per line; the last entry of a phase wins; max_rss_mb is the peak resident memory of
the phase's largest process, from getrusage(RUSAGE_CHILDREN)) and exits with the command's exit code, so Make
still stops on a failed phase. `make finetune` prints the per-phase times from this log.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", required=True, help="JSONL file the timing is appended to")
    parser.add_argument("--phase", required=True, help="phase name, e.g. data, fix, train")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("no command given after --")
    started = datetime.now(timezone.utc)
    start = time.perf_counter()
    code = subprocess.call(cmd)
    seconds = time.perf_counter() - start
    os.makedirs(os.path.dirname(args.log) or ".", exist_ok=True)
    entry = {
        "phase": args.phase,
        "seconds": round(seconds, 2),
        # Linux reports ru_maxrss in KiB
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "exit_code": code,
        "started": started.isoformat(timespec="milliseconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    with open(args.log, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
