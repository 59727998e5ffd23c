"""Counts for the rules-apart lever: curated documents charged dropped_limit:rule, unstated laws,
wrong actors, duplicates, runaways; Spanish grounding. Run from /work/main."""
import json, sys
from ba_metric import score
cur = {json.loads(l)["id"]: json.loads(l) for l in open("packages/ba-eval/src/ba_eval/data/curated.jsonl")}
def counts(path):
    rule = law = wa = dup = run = 0; esg = []; ids = []
    for l in open(path):
        r = json.loads(l); s = score(r["text"], r["concept"])
        d = s.defects
        if "dropped_limit:rule" in d: rule += 1; ids.append(r["id"])
        wa += sum(x.startswith("wrong_actor") for x in d)
        dup += any(x.startswith("duplicate") for x in d)
        run += r.get("finish_reason") in ("length", "loop")
        if cur.get(r["id"], {}).get("language") == "es" and s.grounding is not None: esg.append(s.grounding)
        from ba_metric.facts import facts
        from ba_metric.grounding import fold
        told = fold(r["concept"])
        if any(x.startswith("unstated_fact") for x in d) and any(f[0] == "law" for f in facts(fold(r["text"]))) and not any(f[0]=="law" for f in facts(told)): law += 1
    return dict(rule=rule, rule_ids=ids, unstated_law_docs=law, wrong_actor=wa, dup_docs=dup, runaways=run, es_grounding=round(sum(esg)/len(esg),3) if esg else None)
for p in sys.argv[1:]:
    print(p, counts(p))
