"""Old vs new invented_constraint verdicts, constraint by constraint, on the pre-registered sets.

Run from the repository root with .venv/bin/python, after extracting the old ba_metric:
  git archive 4a7fadd packages/ba-metric/src/ba_metric | tar -x -C /tmp/old
  mv /tmp/old/packages/ba-metric/src/ba_metric /tmp/old/ba_metric_old
  PYTHONPATH=/tmp/old .venv/bin/python docs/results/.../scan.py [TEACHER_RAW] > scan.txt
Writes changed.jsonl (every constraint whose verdict changes) beside this file.
"""
import json, os, statistics, sys
import ba_metric_old
from ba_metric import score
import importlib
new_parse = importlib.import_module("ba_metric.parse")

HERE = os.path.dirname(os.path.abspath(__file__))
E = "docs/results/smollm2-bf16-2026-12-07-epoch-choice"
SETS = {
    "s42-curated": f"{E}/s42/curated-e2-predictions.jsonl", "s43-curated": f"{E}/s43/curated-e2-predictions.jsonl",
    "s42-val": f"{E}/s42/val-e2-predictions.jsonl", "s43-val": f"{E}/s43/val-e2-predictions.jsonl",
    "lr42-curated": f"{E}/lr42/curated-e2-predictions.jsonl", "lr43-curated": f"{E}/lr43/curated-e2-predictions.jsonl",
    "lr42-val": f"{E}/lr42/val-e2-predictions.jsonl", "lr43-val": f"{E}/lr43/val-e2-predictions.jsonl",
    "references": "packages/ba-eval/src/ba_eval/data/curated.jsonl",
}
if len(sys.argv) > 1:
    SETS["teacher-s42"] = sys.argv[1]


def text_of(r):
    if "text" in r:
        return r["text"]
    if "document" in r:
        return r["document"] if isinstance(r["document"], str) else json.dumps(r["document"])
    return json.dumps(r)


def charged(s):
    return {d.split(":", 1)[1] for d in s.defects if d.startswith("invented_constraint:")}


def constraints(text):
    try:
        doc = new_parse.parse(text)
    except ValueError:
        return {}
    out = {}
    for c in doc.get("constraints") or []:
        if isinstance(c, dict) and isinstance(c.get("id"), str):
            out[c["id"]] = str(c.get("description", ""))
    return out


changed = []
for name, path in SETS.items():
    if not os.path.exists(path):
        print(f"{name}: missing {path}"); continue
    rows = [json.loads(l) for l in open(path) if l.strip()]
    old_c, new_c, docs_new, up, down = [], [], 0, 0, 0
    for r in rows:
        text, concept = text_of(r), r["concept"]
        o, n = ba_metric_old.score(text, concept), score(text, concept)
        old_c.append(o.content); new_c.append(n.content)
        oc, nc = charged(o), charged(n)
        docs_new += bool(nc - oc)
        texts = constraints(text)
        for rid in sorted(oc ^ nc):
            up += rid in nc; down += rid in oc
            changed.append({"set": name, "id": r["id"], "rid": rid, "now": "charged" if rid in nc else "excused",
                            "concept": concept, "constraint": texts.get(rid, "?")})
    print(f"{name}: n={len(rows)} content old {statistics.mean(old_c):.3f} new {statistics.mean(new_c):.3f} "
          f"docs newly charged {docs_new} constraints newly charged {up} newly excused {down}")
with open(os.path.join(HERE, "changed.jsonl"), "w") as f:
    for c in changed:
        f.write(json.dumps(c, ensure_ascii=False) + "\n")
