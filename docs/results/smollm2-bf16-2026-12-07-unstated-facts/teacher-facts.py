"""teacher-facts.py RAW.jsonl...: the template teacher's documents (ba-datagen synth output) scored
with the metric as installed: mean and minimum content, documents with unstated_fact, duplicates,
below make's MIN_CONTENT 0.8, and the charged sentences by count."""
import json, sys
from collections import Counter
from ba_metric import score
for path in sys.argv[1:]:
    rows = [json.loads(line) for line in open(path)]
    contents, charged, dup, low, lines = [], 0, 0, 0, Counter()
    for r in rows:
        s = score(r, r["concept"])
        contents.append(s.content)
        ids = {d.split(":", 1)[1] for d in s.defects if d.startswith("unstated_fact")}
        charged += bool(ids)
        dup += any(d.startswith("duplicate") for d in s.defects)
        low += s.content < 0.8
        units = [("description", r["description"])] + [
            (i["id"], i["description"])
            for c in ("functional_requirements", "non_functional_requirements", "constraints")
            for i in r[c]
        ]
        lines.update(text for rid, text in units if rid in ids)
    print(f"{path}: n {len(rows)}, content mean {sum(contents) / len(rows):.4f} min {min(contents):.2f}, "
          f"unstated_fact {charged}, duplicate {dup}, below 0.8 {low}")
    for text, n in lines.most_common():
        print(f"  {n} {text}")
