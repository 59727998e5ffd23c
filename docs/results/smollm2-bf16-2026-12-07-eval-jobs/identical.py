"""The four evaluations' documents of the parallel run (EVAL_JOBS=2, one thread each) against the
serial re-run (EVAL_JOBS=1, two threads) in the same clone, and the fine-tune's against stop 59's
stored seed-42 documents. Run from the clone's root after the two runs (see README.md here)."""
import json
import sys


def texts(path):
    return {json.loads(line)["id"]: json.loads(line)["text"] for line in open(path)}


stored = sys.argv[1]  # docs/results/smollm2-bf16-2026-12-07-contained-copies/s42 of main
for s in ("val", "curated"):
    for m in ("baseline", "finetuned-bf16"):
        a = texts(f"artifacts/eval-parallel/smollm2/{s}/{m}.jsonl")
        b = texts(f"artifacts/eval/smollm2/{s}/{m}.jsonl")
        print(s, m, "parallel == serial:", sum(a[k] == b.get(k) for k in a), "/", len(a))
    a = texts(f"artifacts/eval-parallel/smollm2/{s}/finetuned-bf16.jsonl")
    b = texts(f"{stored}/{s}-predictions.jsonl")
    print(s, "finetuned-bf16 parallel == stop 59's stored:", sum(a[k] == b.get(k) for k in a), "/", len(a))
