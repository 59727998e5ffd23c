import sys, json; sys.path.insert(0, "docs/results/smollm2-bf16-2026-12-07-stated-rules")
import prototype as proto
from prototype import dropped, doc_of
B="docs/results/smollm2-bf16-2026-12-07-contained-copies"
rows=[]
cur=[json.loads(l) for l in open("packages/ba-eval/src/ba_eval/data/curated.jsonl")]
srcs=[("ref","curated",r) for r in cur]
for s in ("s42","s43"):
    for split in ("curated","val"):
        srcs += [(s,split,json.loads(l)) for l in open(f"{B}/{s}/{split}-predictions.jsonl")]
for s in (42,43):
    for f in ('train_fixed','val_fixed'):
        srcs += [(f"teacher{s}",f,json.loads(l)) for l in open(f'/work/run/artifacts-ln{s}/data/template/{f}.jsonl')]
for src,split,r in srcs:
    proto.AMENDED=False; a=dropped(doc_of(r), r["concept"])
    proto.AMENDED=True; b=dropped(doc_of(r), r["concept"])
    for x,y in zip(a,b):
        rows.append(dict(src=src,split=split,id=r["id"],segment=x[0],prereg_kept=x[-1],amended_kept=y[-1]))
json.dump(rows,open("docs/results/smollm2-bf16-2026-12-07-stated-rules/verdicts.json","w"),indent=0)
for row in rows:
    if not row["src"].startswith("teacher") or not (row["prereg_kept"] and row["amended_kept"]):
        print(row["src"],row["split"],row["id"],"prereg",row["prereg_kept"],"amended",row["amended_kept"],"|",row["segment"][:60])
print(len(rows),"rule items;", sum(1 for r in rows if r["src"].startswith("teacher")),"teacher")
