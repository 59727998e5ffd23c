import json, sys, random
sys.path.insert(0, "/work/main/packages/ba-metric/src")
from ba_metric import score
from ba_metric.parse import parse, ParseError
from ba_metric.content import _Item, _platforms, _REQUIREMENT_PLATFORMS
D="docs/results/smollm2-bf16-2026-12-07-needs-only"
charged=json.load(open("/tmp/s58/new-charges.json"))
key={(c["seed"],c["split"],c["id"],c["rid"]) for c in charged}
ctrl=[]
for seed in (42,43):
    for split in ("curated","val"):
        for r in map(json.loads, open(f"{D}/s{seed}/{split}-predictions.jsonl")):
            try: doc=parse(r["text"])
            except ParseError: continue
            for k in ("functional_requirements","non_functional_requirements"):
                for i in doc.get(k) or []:
                    if not isinstance(i,dict) or not isinstance(i.get("description"),str): continue
                    it=_Item(i.get("id",""),k,i["description"])
                    if _platforms(it.tokens,it.padded) & _REQUIREMENT_PLATFORMS and (seed,split,r["id"],i.get("id")) not in key:
                        ctrl.append({"seed":seed,"split":split,"id":r["id"],"rid":i.get("id"),"requirement":i["description"],"concept":r["concept"]})
print(len(ctrl))
for c in ctrl: print(c["seed"],c["split"],c["id"],c["rid"],c["requirement"][:110])
json.dump(ctrl, open("/tmp/s58/controls.json","w"), indent=1)
