"""The committed rule (ba-metric's `wrong_actor`) gives the prototype's verdicts on every
document: the references, the teacher's 420 (read from /work/run/artifacts-ln42, -ln43) and the
default's stored documents. Run from the repository root."""

import json
import sys

sys.path.insert(0, "docs/results/smollm2-bf16-2026-12-07-wrong-actor")
import prototype as pa  # noqa: E402
from ba_metric.content import content_of_document  # noqa: E402
from ba_metric.parse import document_from_fields, parse  # noqa: E402

B = "docs/results/smollm2-bf16-2026-12-07-contained-copies"
sources = [("ref", json.loads(x)) for x in open("packages/ba-eval/src/ba_eval/data/curated.jsonl")]
for seed in (42, 43):
    for name in ("train_fixed", "val_fixed"):
        sources += [(f"teacher{seed}", json.loads(x)) for x in open(f"/work/run/artifacts-ln{seed}/data/template/{name}.jsonl")]
for seed in ("s42", "s43"):
    for split in ("curated", "val"):
        sources += [(f"{seed}-{split}", json.loads(x)) for x in open(f"{B}/{seed}/{split}-predictions.jsonl")]
counts, mismatches = {}, 0
for src, r in sources:
    try:
        doc = parse(r["text"]) if "text" in r else document_from_fields(r)
    except Exception:
        continue
    proto = sorted(x[0] for x in pa.wrong_actors(doc, r["concept"]))
    package = sorted(d.split(":", 1)[1] for d in content_of_document(doc, r["concept"]).defects if d.startswith("wrong_actor:"))
    counts.setdefault(src.split("-")[0] if src.startswith("teacher") else src, [0, 0])
    counts[src.split("-")[0] if src.startswith("teacher") else src][0] += 1
    counts[src.split("-")[0] if src.startswith("teacher") else src][1] += len(package)
    if proto != package:
        mismatches += 1
        print("MISMATCH", src, r["id"], proto, package)
for src, (docs, charged) in counts.items():
    print(f"{src:14s} documents {docs:3d}, FRs charged {charged}")
print("mismatches", mismatches)
