"""After the review (amendment 2): which FRs the committed rule checks (the concept's actor
known) and charges, in the references, the teacher's documents and the default's stored
documents; and a second blind sample: the FRs charged now but not before, with checked, not
charged FRs drawn with seed 61. Run from the repository root."""

import json
import random

import ba_metric.content as content
from ba_metric.parse import document_from_fields, parse

HERE = "docs/results/smollm2-bf16-2026-12-07-wrong-actor"
B = "docs/results/smollm2-bf16-2026-12-07-contained-copies"
checked: list[tuple[str, str, str, str, str]] = []
_actor = content._concept_actor


def counting(segments, index, pos, actors):
    found = _actor(segments, index, pos, actors)
    if found:
        checked.append(CURRENT[0])
    return found


content._concept_actor = counting
CURRENT = [None]
sources = [("ref", json.loads(x)) for x in open("packages/ba-eval/src/ba_eval/data/curated.jsonl")]
for seed in (42, 43):
    for name in ("train_fixed", "val_fixed"):
        sources += [(f"teacher{seed}", json.loads(x)) for x in open(f"/work/run/artifacts-ln{seed}/data/template/{name}.jsonl")]
for seed in ("s42", "s43"):
    for split in ("curated", "val"):
        sources += [(f"{seed}-{split}", json.loads(x)) for x in open(f"{B}/{seed}/{split}-predictions.jsonl")]
summary: dict[str, list[int]] = {}
model_items = []
for src, r in sources:
    try:
        doc = parse(r["text"]) if "text" in r else document_from_fields(r)
    except Exception:
        continue
    frs = [x for x in (doc.get("functional_requirements") or []) if isinstance(x, dict)]
    charged = set()
    for fr in frs:  # one FR at a time, with the document's other FRs as actor words
        CURRENT[0] = (src, r["id"], fr.get("id"), fr.get("description"), r["concept"])
        n = len(checked)
        defects = content.content_of_document({**doc, "functional_requirements": frs}, r["concept"]).defects
        checked[n:] = [c for c in checked[n:] if c[2] == fr.get("id")][:1]
        if f"wrong_actor:{fr.get('id')}" in defects:
            charged.add(fr.get("id"))
    group = src.split("-")[0] if src.startswith("teacher") else src
    mine = [c for c in checked if c[0] == src and c[1] == r["id"]]
    summary.setdefault(group, [0, 0])
    summary[group][1] += len(charged)
    if not src.startswith(("ref", "teacher")):
        model_items += [dict(src=src, id=c[1], fr=c[2], text=c[3], concept=c[4], charged=c[2] in charged) for c in mine]
checked_by = {}
for c in checked:
    checked_by.setdefault(c[0].split("-")[0] if c[0].startswith("teacher") else c[0], set()).add((c[1], c[2]))
for group, (_, n) in summary.items():
    print(f"{group:14s} FRs checked {len(checked_by.get(group, ())):4d}, charged {n}")
old = {(k["src"] + "-" + k["split"], k["id"], k["fr"]) for k in json.load(open(f"{HERE}/blind/key.json")) if k["charged"]}
new = [it for it in model_items if it["charged"] and (it["src"], it["id"], it["fr"]) not in old]
gone = [o for o in old if not any((it["src"], it["id"], it["fr"]) == o and it["charged"] for it in model_items)]
print("charged now, not before:", [(it["src"], it["id"], it["fr"]) for it in new], "; charged before, not now:", gone)
random.seed(61)
clean = [it for it in model_items if not it["charged"]]
items = new + random.sample(clean, 5)
random.shuffle(items)
text = open(f"{HERE}/blind/items.md").read().split("\n## 1\n")[0]
out = [text]
for n, it in enumerate(items, 1):
    out.append(f"\n## {n}\n\nConcept: {it['concept'].strip()}\n\nRequirement: {it['text']}\n")
open(f"{HERE}/blind2/items.md", "w").write("".join(out))
json.dump([dict(n=n, **{k: v for k, v in it.items() if k != "concept"}) for n, it in enumerate(items, 1)], open(f"{HERE}/blind2/key.json", "w"), indent=1)
