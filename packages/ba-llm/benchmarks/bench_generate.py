"""Generation throughput on SmolLM2-135M-Instruct: batched transformers vs one-at-a-time
transformers vs the llama.cpp backend, in completion tokens per second.

    python benchmarks/bench_generate.py                       # prepared smollm2 + embedded GGUF
    BA_MODELS_DIR=/tmp/models python benchmarks/bench_generate.py --max-new-tokens 256 --out bench.json
    python benchmarks/bench_generate.py --threads 1    # on a machine shared with other jobs

Each mode answers the same 16 concepts with the default prompt, greedy, the same
max_new_tokens; tokens/s = completion tokens summed over the 16 rows / wall seconds of the
generation (model loading excluded, prompt processing included).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("BA_NO_PROGRESS", "1")

from ba_llm import generate, load_backend  # noqa: E402
from ba_llm.base_model import find_smollm2_gguf  # noqa: E402
from ba_llm.prompt import default_prompt  # noqa: E402

CONCEPTS = [
    "A mobile app for community garden members to reserve plots for a season and log volunteer hours.",
    "An online ordering site for a family bakery with pickup time slots and allergy labels.",
    "A shift scheduling tool for small clinics that tracks overtime and certifications.",
    "A marketplace for second-hand bicycles with escrow payments and home delivery.",
    "A school lunch pre-order app where parents pay ahead and kitchens see daily counts.",
    "A booking system for a coworking space with desks, meeting rooms and monthly invoices.",
    "A fleet maintenance tracker for a regional bus company with parts inventory.",
    "A volunteer matching platform for food banks that schedules drivers and sorters.",
    "A subscription box service for pet food that adapts portions to each pet's weight.",
    "An appointment app for independent hair salons with deposits and no-show reminders.",
    "A tenant portal for a property manager to log repairs, pay rent and sign leases.",
    "A farm-to-restaurant ordering platform for local growers with weekly availability lists.",
    "A visitor check-in kiosk for office buildings that prints badges and notifies hosts.",
    "An inventory app for a small brewery tracking batches, kegs and excise reports.",
    "A tutoring marketplace connecting university students with high-school learners online.",
    "A warranty claim portal for an appliance maker with photo uploads and repair dispatch.",
]


def _run(backend, concepts, prompt, max_new_tokens: int, batch_size: int) -> dict:
    t0 = time.perf_counter()
    rows = generate(backend, concepts, prompt, max_new_tokens=max_new_tokens, batch_size=batch_size, progress=False)
    wall = time.perf_counter() - t0
    tokens = sum(r["completion_tokens"] for r in rows)
    return {
        "rows": len(rows),
        "completion_tokens": tokens,
        "wall_s": round(wall, 2),
        "tokens_per_s": round(tokens / wall, 1),
        "stopped": sum(r["finish_reason"] == "stop" for r in rows),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", default="smollm2", help="transformers spec (default smollm2)")
    ap.add_argument("--gguf", default=None, help="GGUF for the llama.cpp run (default: the embedded one)")
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads for the transformers runs (default: torch's, i.e. all cores)",
    )
    ap.add_argument("--llama-threads", type=int, default=None, help="llama.cpp threads (default: all cores)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["batched", "single", "llama.cpp"])
    ap.add_argument("--out", help="also write the report as JSON here")
    args = ap.parse_args()

    concepts = [{"id": f"b{i:02d}", "concept": c} for i, c in enumerate(CONCEPTS)]
    prompt = default_prompt()
    report: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        },
        "max_new_tokens": args.max_new_tokens,
        "concepts": len(concepts),
        "dtype": args.dtype,
        "results": {},
    }
    res = report["results"]
    if not {"batched", "single"} <= set(args.skip):
        with load_backend(args.spec, dtype=args.dtype, threads=args.threads) as b:
            report["torch_threads"] = b.threads
            if "batched" not in args.skip:
                res["transformers_batched"] = {
                    "batch_size": args.batch_size,
                    **_run(b, concepts, prompt, args.max_new_tokens, args.batch_size),
                }
                print("batched", res["transformers_batched"], file=sys.stderr)
            if "single" not in args.skip:
                res["transformers_single"] = {"batch_size": 1, **_run(b, concepts, prompt, args.max_new_tokens, 1)}
                print("single", res["transformers_single"], file=sys.stderr)
    if "llama.cpp" not in args.skip:
        gguf = args.gguf or str(find_smollm2_gguf())
        with load_backend(f"gguf:{gguf}", threads=args.llama_threads) as b:
            res["llama_cpp_single"] = {
                "batch_size": 1,
                "n_threads": b.threads,
                **_run(b, concepts, prompt, args.max_new_tokens, 1),
            }
            print("llama.cpp", res["llama_cpp_single"], file=sys.stderr)
    if "transformers_batched" in res and "transformers_single" in res:
        report["batched_speedup"] = round(
            res["transformers_batched"]["tokens_per_s"] / res["transformers_single"]["tokens_per_s"], 2
        )
    report["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
