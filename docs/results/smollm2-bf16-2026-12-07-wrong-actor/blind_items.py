"""The blind reader's items: every FR the prototype charges in the default's stored documents,
and as many checked, not charged FRs drawn at random (seed 60). Run from the repository root."""

import json
import random
import sys

sys.path.insert(0, "docs/results/smollm2-bf16-2026-12-07-wrong-actor")
import prototype as pa  # noqa: E402
from ba_metric.parse import parse  # noqa: E402

B = "docs/results/smollm2-bf16-2026-12-07-contained-copies"
HERE = "docs/results/smollm2-bf16-2026-12-07-wrong-actor"
charged, clean = [], []
for seed in ("s42", "s43"):
    for split in ("curated", "val"):
        for line in open(f"{B}/{seed}/{split}-predictions.jsonl"):
            r = json.loads(line)
            try:
                doc = parse(r["text"])
            except Exception:
                continue
            pa.CHECKED_IDS.clear()
            bad = {x[0] for x in pa.wrong_actors(doc, r["concept"])}
            for rid, text in list(pa.CHECKED_IDS):
                item = dict(src=seed, split=split, id=r["id"], fr=rid, text=text, concept=r["concept"], charged=rid in bad)
                (charged if rid in bad else clean).append(item)
random.seed(60)
sample = random.sample(clean, min(len(charged), len(clean)))
items = charged + sample
random.shuffle(items)
out = [
    "# Requirements to judge\n\nEach item gives a business concept and one functional requirement written for it. "
    "Question: **does the concept give this capability to the actor this requirement names?** Answer `yes` "
    "(the concept says this actor does it, or clearly implies it), `no` (the concept gives it to someone else, "
    "or to no person), or `unclear`, with a reason of at most 15 words. Judge only who does it, not how well "
    "the requirement is written.\n\nWrite your answers as a markdown table: `| n | answer | reason |`.\n"
]
key = []
for n, it in enumerate(items, 1):
    out.append(f"\n## {n}\n\nConcept: {it['concept'].strip()}\n\nRequirement: {it['text']}\n")
    key.append(dict(n=n, **{k: v for k, v in it.items() if k != "concept"}))
open(f"{HERE}/blind/items.md", "w").write("".join(out))
json.dump(key, open(f"{HERE}/blind/key.json", "w"), indent=1)
print(len(charged), "charged,", len(clean), "checked not charged,", len(sample), "drawn")
