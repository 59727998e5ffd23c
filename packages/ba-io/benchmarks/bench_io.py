"""Throughput of validated JSONL read/write (figures go into README.md).

Usage: python benchmarks/bench_io.py [N_ROWS]
"""

import sys
import tempfile
import time
from pathlib import Path

from ba_io import load_schema, read_jsonl, validate, write_jsonl


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    for schema in ("example-v2", "scored-prediction"):
        example = load_schema(schema)["examples"][0]
        rows = [{**example, "id": f"r{i}"} for i in range(n)]
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "rows.jsonl"
            t0 = time.perf_counter()
            write_jsonl(path, rows, schema)
            t1 = time.perf_counter()
            back = read_jsonl(path, schema)
            t2 = time.perf_counter()
            assert len(back) == n
            for r in rows[:1000]:
                validate(r, schema)
            t3 = time.perf_counter()
        print(
            f"{schema:18s} n={n}: write_jsonl {n / (t1 - t0):,.0f} rows/s, "
            f"read_jsonl {n / (t2 - t1):,.0f} rows/s, validate {1000 / (t3 - t2):,.0f} rows/s"
        )


if __name__ == "__main__":
    main()
