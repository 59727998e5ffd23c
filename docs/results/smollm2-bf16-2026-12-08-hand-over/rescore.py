"""Defects per unit, old vs new metric: print every document whose content or defects changed."""
import json, sys, yaml
from ba_metric import score
def text_of(r):
    if "text" in r: return r["text"]
    doc = {k: r[k] for k in ("title", "description", "functional_requirements", "non_functional_requirements", "constraints")}
    for k in ("functional_requirements", "non_functional_requirements", "constraints"):
        if isinstance(doc[k], str): doc[k] = yaml.safe_load(doc[k])
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
out = {}
for path in sys.argv[1:]:
    for l in open(path):
        r = json.loads(l); s = score(text_of(r), r["concept"])
        out[f"{path}:{r['id']}"] = [s.total, s.content, list(s.defects)]
json.dump(out, sys.stdout)
