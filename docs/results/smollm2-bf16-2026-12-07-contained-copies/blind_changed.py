"""A blind pairwise reading of the documents a change altered: for every curated concept whose
document differs between DEFAULT and LEVER (several seeds pooled, at most N pairs drawn at
random), the two documents as A and B in a random order. Writes blind-items.md (for the reader)
and blind-key.json (which letter is which). Usage:
python blind_changed.py N SEED OUT_DIR DEFAULT.jsonl:LEVER.jsonl[:LABEL] ..."""

import json
import random
import sys
from pathlib import Path

n, seed, out, *runs = sys.argv[1:]
rng = random.Random(int(seed))
changed = []
for spec in runs:
    default_path, lever_path, *label = spec.split(":")
    default = {r["id"]: r for r in map(json.loads, open(default_path, encoding="utf-8"))}
    lever = {r["id"]: r for r in map(json.loads, open(lever_path, encoding="utf-8"))}
    tag = label[0] if label else default_path
    for cid in sorted(default.keys() & lever.keys()):
        if default[cid]["text"] != lever[cid]["text"]:
            changed.append((tag, cid, default[cid], lever[cid]))
picked = sorted(rng.sample(changed, min(int(n), len(changed))), key=lambda c: (c[0], c[1]))
key, parts = {}, ["# Pairs of requirements documents\n"]
for i, (tag, cid, d, lv) in enumerate(picked, start=1):
    pair = [("default", d["text"]), ("lever", lv["text"])]
    rng.shuffle(pair)
    key[f"P{i:02d}"] = {"run": tag, "id": cid, "A": pair[0][0], "B": pair[1][0]}
    parts.append(f"\n## P{i:02d}\n\n**Concept:** {d['concept']}\n")
    for letter, (_, text) in zip("AB", pair):
        parts.append(f"\n### {letter}\n\n```yaml\n{text.strip()}\n```\n")
Path(out, "blind-items.md").write_text("".join(parts), encoding="utf-8")
Path(out, "blind-key.json").write_text(json.dumps(key, indent=1) + "\n", encoding="utf-8")
print(f"{len(picked)} of {len(changed)} changed pairs: {', '.join(f'{t}/{c}' for t, c, _, _ in picked)}")
