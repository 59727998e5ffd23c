"""The blind reader's sample (pre-registration, "Calibration and agreement"): every constraint of
changed.jsonl plus as many unchanged platform-naming constraints of the same sets (random, seed 0),
shuffled (seed 0). Writes blind-items.md (what the reader sees: no verdicts) and blind-key.json.
Run after scan.py, with the same PYTHONPATH and arguments."""
import json, os, random, sys
sys.argv = sys.argv[:2]
HERE = os.path.dirname(os.path.abspath(__file__))
from ba_metric import score
from ba_metric.content import _Item, _platforms
import ba_metric_old
src = open(os.path.join(HERE, "scan.py")).read()
ns = {"__file__": os.path.join(HERE, "scan.py")}
exec(src.split("changed = []")[0], ns)  # SETS, text_of, charged, constraints
changed = [json.loads(l) for l in open(os.path.join(HERE, "changed.jsonl"))]
keys = {(c["set"], c["id"], c["rid"]) for c in changed}
pool = []
for name, path in ns["SETS"].items():
    for r in (json.loads(l) for l in open(path) if l.strip()):
        text = ns["text_of"](r)
        o = ns["charged"](ba_metric_old.score(text, r["concept"]))
        for rid, desc in ns["constraints"](text).items():
            it = _Item(rid, "constraints", desc)
            if (name, r["id"], rid) in keys or not _platforms(it.tokens, it.padded):
                continue
            pool.append({"set": name, "id": r["id"], "rid": rid, "now": "charged" if rid in o else "excused",
                         "concept": r["concept"], "constraint": desc, "changed": False})
rng = random.Random(0)
controls = rng.sample(pool, min(len(changed), len(pool)))
items = [dict(c, changed=True) for c in changed] + controls
rng.shuffle(items)
with open(os.path.join(HERE, "blind-items.md"), "w") as f:
    f.write("# Constraints to judge\n\nFor each item: does the concept state or clearly imply this limit "
            "(answer `stated`), or is it a limit the concept never gives (answer `invented`)?\n\n")
    for n, it in enumerate(items, 1):
        f.write(f"## {n}\n\nConcept: {it['concept']}\n\nConstraint: {it['constraint']}\n\n")
json.dump([{k: it[k] for k in ("set", "id", "rid", "now", "changed")} for it in items],
          open(os.path.join(HERE, "blind-key.json"), "w"), indent=1)
print(len(items), "items;", len(pool), "unchanged platform constraints in the pool")
