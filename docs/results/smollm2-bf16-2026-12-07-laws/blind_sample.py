"""The blind reader's sample (pre-registration): 60 of changed.jsonl's units (seed 0; all when
at most 60) plus as many unchanged units naming a law from the same sets (seed 0), shuffled
(seed 0). Writes blind-items.md (no verdicts) and blind-key.json. Same PYTHONPATH and
arguments as scan.py, after it."""
import json, os, random, sys
HERE = os.path.dirname(os.path.abspath(__file__))
src = open(os.path.join(HERE, "scan.py")).read()
ns = {"__file__": os.path.join(HERE, "scan.py")}
exec(src.rsplit("\nchanged = []\n", 1)[0], ns)
import ba_metric_old
from ba_metric.grounding import fold
from ba_metric.facts import facts
changed = [json.loads(l) for l in open(os.path.join(HERE, "changed.jsonl"))]
keys = {(c["set"], c["id"], c["rid"]) for c in changed}
pool = []
for name, path in ns["SETS"].items():
    for r in (json.loads(l) for l in open(path) if l.strip()):
        text = ns["ns"]["text_of"](r)  # the platform folder's, loaded by scan.py
        old = ns["charged"](ba_metric_old.score(text, r["concept"]))
        for rid, unit in ns["units"](text).items():
            if (name, r["id"], rid) in keys or not any(k == "law" for k, _ in facts(fold(unit))):
                continue
            pool.append({"set": name, "id": r["id"], "rid": rid, "now": "charged" if rid in old else "excused",
                         "concept": r["concept"], "unit": unit, "changed": False})
rng = random.Random(0)
picked = changed if len(changed) <= 60 else rng.sample(changed, 60)
controls = rng.sample(pool, min(len(picked), len(pool)))
items = [dict(c, changed=True) for c in picked] + controls
rng.shuffle(items)
with open(os.path.join(HERE, "blind-items.md"), "w") as f:
    f.write("# Sentences to judge\n\nFor each item: does the concept state or clearly imply the law this sentence "
            "imposes (answer `stated`), or is it a law the concept never gives (answer `invented`)?\n\n")
    for n, it in enumerate(items, 1):
        f.write(f"## {n}\n\nConcept: {it['concept']}\n\nSentence: {it['unit']}\n\n")
json.dump([{k: it[k] for k in ("set", "id", "rid", "now", "changed")} for it in items],
          open(os.path.join(HERE, "blind-key.json"), "w"), indent=1)
print(len(items), "items;", len(picked), "changed of", len(changed), ";", len(pool), "unchanged law units in the pool")
