"""Mean total and content (the metric as installed) and the unstated_fact charges of each NAME=FILE predictions file."""
import json, sys
from ba_metric import score
def rows(p): return [json.loads(l) for l in open(p) if l.strip()]
def new_scores(p, field=None):
    out = {}
    for r in rows(p):
        text = r.get(field) if field else (r.get("text") if "text" in r else r)
        out[r["id"]] = score(text if isinstance(text, str) else json.dumps(text), r["concept"])
    return out
for label, p in [a.split("=", 1) for a in sys.argv[1:]]:
    s = new_scores(p)
    n = len(s)
    content = sum(x.content for x in s.values()) / n
    total = sum(x.total for x in s.values()) / n
    charged = [(i, [d for d in x.defects if d.startswith("unstated_fact")]) for i, x in s.items()]
    docs = sum(1 for _, c in charged if c); charges = sum(len(c) for _, c in charged)
    print(f"{label}: n={n} total={total:.3f} content={content:.3f} unstated_fact docs={docs} charges={charges}")
