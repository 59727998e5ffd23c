"""Throughput of ``score(text)`` against the floor: pyyaml's C loader parsing the same text.

Usage: python benchmarks/bench_score.py [--seconds 2] [--repeats 5] [--file typical.yaml]

Prints documents/second for each (best of ``--repeats`` runs) and the ratio (time per
scored document / time per bare C-loader parse). ``score`` computes the content score too
(target: >= 1,000 documents/s with a concept).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import yaml

from ba_metric import score

HERE = Path(__file__).resolve().parent
CONCEPT = "A mobile app for community garden members to reserve plots and share tools."


def _rate(fn, text: str, seconds: float) -> float:
    """Calls per second of fn(text), timed in batches for ~``seconds``."""
    n, batch = 0, 50
    start = time.perf_counter()
    while True:
        for _ in range(batch):
            fn(text)
        n += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    ap.add_argument("--repeats", type=int, default=5, help="measurements per candidate (best kept)")
    ap.add_argument("--file", type=Path, default=HERE / "typical.yaml")
    args = ap.parse_args()
    text = args.file.read_text(encoding="utf-8")
    assert score(text).total == 1.0, score(text)

    def floor(t: str):
        return yaml.load(t, Loader=yaml.CSafeLoader)

    def with_concept(t: str):
        return score(t, CONCEPT)

    candidates = {"yaml.CSafeLoader (floor)": floor, "score(text)": score, "score(text, concept)": with_concept}
    best = dict.fromkeys(candidates, 0.0)
    for _ in range(args.repeats):  # interleaved so machine load hits all alike
        for name, fn in candidates.items():
            best[name] = max(best[name], _rate(fn, text, args.seconds))
    print(f"document: {args.file.name}, {len(text.encode())} bytes; python {platform.python_version()}")
    for name, rate in best.items():
        print(f"{name:26s} {rate:9.0f} docs/s  {1e6 / rate:7.1f} us/doc")
    floor_rate = best["yaml.CSafeLoader (floor)"]
    for name in ("score(text)", "score(text, concept)"):
        print(f"ratio {name:20s} {floor_rate / best[name]:.3f}x the floor")
    verdict = "met" if best["score(text, concept)"] >= 1000 else "MISSED"
    print(f"target >= 1,000 docs/s for score(text, concept): {verdict}")


if __name__ == "__main__":
    main()
