"""Counts, per scored predictions file: curated documents with a hand-over constraint, with an
"open limit" line, open lines that deny a limit the concept states, and the constraint defects."""
import json, re, sys
from ba_metric.parse import ParseError, parse
from ba_metric.quantities import quantities
from ba_metric.grounding import fold

HAND = re.compile(r"handed over|delivered with|hand(ed)? over", re.I)
OPEN_B = re.compile(r"budget .*(not set|to be agreed|must be agreed)", re.I)
OPEN_D = re.compile(r"(launch date|deadline).*(still open|must be fixed|not set)", re.I)
for path in sys.argv[1:]:
    rows = [json.loads(l) for l in open(path)]
    hand = opened = wrong = 0
    kinds = {}
    for r in rows:
        for d in r["defects"]:
            k = d.split(":")[0]
            if k in ("invented_constraint", "dropped_limit", "not_a_constraint", "repeated_constraint"):
                kinds[k] = kinds.get(k, 0) + 1
        try:
            doc = parse(r["text"])
        except ParseError:
            continue
        cs = [str(i.get("description", "")) for i in (doc.get("constraints") or []) if isinstance(i, dict)]
        hand += any(HAND.search(c) for c in cs)
        ob = any(OPEN_B.search(c) for c in cs)
        od = any(OPEN_D.search(c) for c in cs)
        opened += ob or od
        q = quantities(fold(r["concept"]))
        wrong += (ob and any(m >= 1000 for m in q.money)) + (od and q.has_deadline)
    print(f"{path}: docs {len(rows)}, hand-over {hand}, open-limit {opened}, open lines denying a stated limit {wrong}, {kinds}")
