import json, sys, collections
sys.path.insert(0, "/work/main/packages/ba-metric/src")
import ba_metric
from ba_metric import score
print(ba_metric.__file__)
def req(doc, rid):
    for k in ("functional_requirements","non_functional_requirements"):
        for i in doc.get(k) or []:
            if isinstance(i, dict) and i.get("id")==rid: return i.get("description")
# (1) references
rows=[json.loads(l) for l in open("packages/ba-eval/src/ba_eval/data/curated.jsonl")]
import yaml
n=0
for r in rows:
    doc={k: r[k] for k in ("title","description","functional_requirements","non_functional_requirements","constraints")}
    doc={k:(yaml.safe_load(v) if isinstance(v,str) and k not in ("title","description") else v) for k,v in doc.items()}
    s=score(doc, r["concept"])
    for d in s.defects:
        if d.startswith("unfit_platform"):
            n+=1; print("REF", r["id"], d, req(doc, d.split(":")[1]), "|", r["concept"][:150])
print("reference charges", n)
