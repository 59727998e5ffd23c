"""How many concepts of a training file name each law (ba_metric.facts): teacher_laws.py TRAIN.jsonl
(teacher.txt: seed 42's make data train split, /tmp/teach/data/template/train.jsonl of `make A=/tmp/teach data`)."""
import collections, json, sys
from ba_metric.facts import facts
from ba_metric.grounding import fold
rows = [json.loads(l) for l in open(sys.argv[1])]
laws = collections.Counter(tuple(sorted(v for k, v in facts(fold(r["concept"])) if k == "law")) for r in rows)
print(f"{len(rows)} concepts; laws named: {dict(laws.most_common())}")
