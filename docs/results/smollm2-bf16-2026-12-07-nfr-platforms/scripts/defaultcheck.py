import json, sys
sys.path.insert(0, "/work/main/packages/ba-metric/src")
from ba_metric import score
from ba_metric.parse import parse, ParseError
D="docs/results/smollm2-bf16-2026-12-07-needs-only"
items=[]
for seed in (42,43):
    for split in ("curated","val"):
        rows=[json.loads(l) for l in open(f"{D}/s{seed}/{split}-predictions.jsonl")]
        old=[json.loads(l) for l in open(f"{D}/scored/ln{seed}-{split}.jsonl")]
        newc=[]; hits=0
        for r,o in zip(rows,old):
            s=score(r["text"], r["concept"]); newc.append(s.content)
            try: doc=parse(r["text"])
            except ParseError: doc={}
            for d in s.defects:
                if d.startswith("unfit_platform"):
                    hits+=1; rid=d.split(":")[1]
                    txt=[i.get("description") for k in ("functional_requirements","non_functional_requirements") for i in (doc.get(k) or []) if isinstance(i,dict) and i.get("id")==rid][0]
                    items.append({"seed":seed,"split":split,"id":r["id"],"rid":rid,"requirement":txt,"concept":r["concept"]})
        oc=sum(o["content"] for o in old)/len(old)
        print(seed, split, "content", round(oc,4), "->", round(sum(newc)/len(newc),4), "charges", hits)
json.dump(items, open(sys.argv[1] if len(sys.argv) > 1 else "/tmp/new-charges.json","w"), indent=1)
for it in items: print(it["seed"], it["split"], it["id"], it["rid"], it["requirement"])
