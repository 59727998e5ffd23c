"""Old vs new unstated_fact verdicts, unit by unit, on the pre-registered sets (the platform-fit
folder's SETS, plus the rank-16 lever's documents where given).

  git archive c9fdc50 packages/ba-metric/src/ba_metric | tar -x -C /tmp/old2
  mv /tmp/old2/packages/ba-metric/src/ba_metric /tmp/old2/ba_metric_old
  PYTHONPATH=/tmp/old2 .venv/bin/python docs/results/.../scan.py TEACHER_RAW [NAME=FILE ...] > scan.txt
Writes changed.jsonl (every unit whose unstated_fact verdict changes) beside this file.
"""
import importlib, json, os, statistics, sys
import ba_metric_old
from ba_metric import score
from ba_metric.grounding import fold
from ba_metric.facts import facts

parse = importlib.import_module("ba_metric.parse")
HERE = os.path.dirname(os.path.abspath(__file__))
ns = {"__file__": os.path.join(HERE, "../smollm2-bf16-2026-12-07-platform-fit/scan.py")}
src = open(ns["__file__"]).read()
sys_argv, sys.argv = sys.argv, sys.argv[:2]
exec(src.split("changed = []")[0], ns)
sys.argv = sys_argv
SETS = dict(ns["SETS"])
for spec in sys.argv[2:]:
    name, path = spec.split("=", 1)
    SETS[name] = path


def units(text):
    try:
        doc = parse.parse(text)
    except ValueError:
        return {}
    out = {"description": doc["description"]} if isinstance(doc.get("description"), str) else {}
    for cat in ("functional_requirements", "non_functional_requirements", "constraints"):
        for it in doc.get(cat) or []:
            if isinstance(it, dict) and isinstance(it.get("id"), str):
                out[it["id"]] = str(it.get("description", ""))
    return out


def charged(s):
    return {d.split(":", 1)[1] for d in s.defects if d.startswith("unstated_fact:")}


changed = []
for name, path in SETS.items():
    if not os.path.exists(path):
        print(f"{name}: missing {path}"); continue
    rows = [json.loads(l) for l in open(path) if l.strip()]
    old_c, new_c, up, down, docs_up = [], [], 0, 0, 0
    for r in rows:
        text, concept = ns["text_of"](r), r["concept"]
        o, n = ba_metric_old.score(text, concept), score(text, concept)
        old_c.append(o.content); new_c.append(n.content)
        oc, nc = charged(o), charged(n)
        docs_up += bool(nc - oc)
        u = units(text)
        for rid in sorted(oc ^ nc):
            up += rid in nc; down += rid in oc
            changed.append({"set": name, "id": r["id"], "rid": rid, "now": "charged" if rid in nc else "excused",
                            "facts": sorted(map(list, facts(fold(u.get(rid, ""))))),
                            "concept": concept, "unit": u.get(rid, "?")})
    print(f"{name}: n={len(rows)} content old {statistics.mean(old_c):.3f} new {statistics.mean(new_c):.3f} "
          f"docs newly charged {docs_up} units newly charged {up} newly excused {down}")
with open(os.path.join(HERE, "changed.jsonl"), "w") as f:
    for c in changed:
        f.write(json.dumps(c, ensure_ascii=False) + "\n")
