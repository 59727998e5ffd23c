"""Counts for the one-filler lever, per predictions file (run from the repository root with its
.venv): documents with a hand-over constraint, constraint defects, constraints per document,
content, runaways."""
import json, re, sys
from ba_metric import score
from ba_metric.parse import ParseError, parse

HAND = re.compile(r"handed over|delivered with|hand(ed)? over", re.I)
KINDS = ("invented_constraint", "not_a_constraint", "repeated_constraint", "dropped_limit")
for path in sys.argv[1:]:
    rows = [json.loads(l) for l in open(path)]
    hand = n_cons = parsed = runaways = 0
    kinds = dict.fromkeys(KINDS, 0)
    contents = []
    for r in rows:
        s = score(r["text"], r["concept"])
        contents.append(s.content)
        runaways += r.get("finish_reason") in ("length", "loop")
        for d in s.defects:
            k = d.split(":")[0]
            if k in kinds:
                kinds[k] += 1
        try:
            doc = parse(r["text"])
        except ParseError:
            continue
        parsed += 1
        cs = [str(i.get("description", "")) for i in (doc.get("constraints") or []) if isinstance(i, dict)]
        n_cons += len(cs)
        hand += any(HAND.search(c) for c in cs)
    print(
        f"{path}: docs {len(rows)}, content {sum(contents) / len(rows):.3f}, hand-over docs {hand}, "
        f"constraints/doc {n_cons / max(parsed, 1):.2f}, runaways {runaways}, {kinds}"
    )
