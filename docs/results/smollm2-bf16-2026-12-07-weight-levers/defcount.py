"""Defect counts per predictions file: every defect kind, documents with a duplicate, FRs per document, runaways."""
import json, sys, collections
from ba_metric import score
from ba_metric.parse import ParseError, parse
for path in sys.argv[1:]:
    rows = [json.loads(l) for l in open(path)]
    c = collections.Counter(); dupdocs = frs = parsed = run = 0
    for r in rows:
        s = score(r["text"], r["concept"])
        kinds = [d.split(":")[0] for d in s.defects]
        c.update(kinds); dupdocs += "duplicate" in kinds
        run += r.get("finish_reason") in ("length", "loop")
        try: doc = parse(r["text"])
        except ParseError: continue
        parsed += 1; frs += len(doc.get("functional_requirements") or [])
    print(path.split("/")[-1], f"docs {len(rows)} runaways {run} dup-docs {dupdocs} FR/doc {frs/max(1,parsed):.2f}",
          " ".join(f"{k}={v}" for k, v in sorted(c.items())))
