"""Amendment 2's verdicts (ba-metric's `dropped_limit:rule` as committed after the review)
on every document the first versions were run on, against the blind reader's answers.

Run from the repository root with the venv that imports this checkout's ba-metric:
python docs/results/smollm2-bf16-2026-12-07-stated-rules/revised.py
(the teacher's documents are read from /work/run/artifacts-ln42 and -ln43, the default's data).
"""

import json
import re

from ba_metric.content import _stated_rules, content_of_document
from ba_metric.parse import document_from_fields, parse

HERE = "docs/results/smollm2-bf16-2026-12-07-stated-rules"
B = "docs/results/smollm2-bf16-2026-12-07-contained-copies"


def doc_of(record):
    return parse(record["text"]) if "text" in record else document_from_fields(record)


def charged(record):
    return "dropped_limit:rule" in content_of_document(doc_of(record), record["concept"]).defects


cur = [json.loads(line) for line in open("packages/ba-eval/src/ba_eval/data/curated.jsonl")]
records = {("ref", "curated", r["id"]): r for r in cur}
for seed in ("s42", "s43"):
    for split in ("curated", "val"):
        for line in open(f"{B}/{seed}/{split}-predictions.jsonl"):
            r = json.loads(line)
            records[(seed, split, r["id"])] = r
counts = {}
for (src, split, rid), r in records.items():
    if _stated_rules(r["concept"]):
        counts.setdefault((src, split), [0, []])
        counts[(src, split)][0] += 1
        if charged(r):
            counts[(src, split)][1].append(rid)
for key, (n, ids) in sorted(counts.items()):
    print(f"{key[0]:4s} {key[1]:8s} documents with a stated rule {n:2d}, charged {len(ids)}: {', '.join(ids)}")
teacher = with_rule = teacher_charged = 0
for seed in (42, 43):
    for name in ("train_fixed", "val_fixed"):
        for line in open(f"/work/run/artifacts-ln{seed}/data/template/{name}.jsonl"):
            r = json.loads(line)
            teacher += 1
            with_rule += bool(_stated_rules(r["concept"]))
            teacher_charged += charged(r)
print(f"teacher documents {teacher}, with a stated rule {with_rule}, charged {teacher_charged}")
key = {k["n"]: k for k in json.load(open(f"{HERE}/blind/key.json"))}
answers = {}
for line in open(f"{HERE}/blind/answers.md"):
    m = re.match(r"\|\s*(\d+)\s*\|\s*(stated|dropped)\s*\|", line.strip())
    if m:
        answers[int(m[1])] = m[2] == "stated"
agree = {"model": [0, 0], "ref": [0, 0]}
for n, k in key.items():
    kept = not charged(records[(k["src"], k["split"], k["id"])])
    group = "ref" if k["src"] == "ref" else "model"
    agree[group][0] += kept == answers[n]
    agree[group][1] += 1
    if kept != answers[n]:
        print(f"  disagreement {n}: {k['src']} {k['split']} {k['id']}: rule {'kept' if kept else 'dropped'}, reader {'stated' if answers[n] else 'dropped'}")
print(f"agreement on model documents {agree['model'][0]}/{agree['model'][1]}, references {agree['ref'][0]}/{agree['ref'][1]}")
