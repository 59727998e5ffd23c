"""A blind pairwise reading: for N curated concepts drawn at random, the default's and the
lever's documents as A and B in a random order. Writes blind-items.md (for the reader) and
blind-key.json (which letter is which). Usage:
python blind_pairs.py DEFAULT.jsonl LEVER.jsonl N SEED OUT_DIR"""

import json
import random
import sys
from pathlib import Path

default_path, lever_path, n, seed, out = sys.argv[1:6]
default = {r["id"]: r for r in map(json.loads, open(default_path, encoding="utf-8"))}
lever = {r["id"]: r for r in map(json.loads, open(lever_path, encoding="utf-8"))}
rng = random.Random(int(seed))
ids = sorted(rng.sample(sorted(default.keys() & lever.keys()), int(n)))
key, parts = {}, ["# Pairs of requirements documents\n"]
for i, cid in enumerate(ids, start=1):
    pair = [("default", default[cid]["text"]), ("lever", lever[cid]["text"])]
    rng.shuffle(pair)
    key[f"P{i:02d}"] = {"id": cid, "A": pair[0][0], "B": pair[1][0]}
    parts.append(f"\n## P{i:02d}\n\n**Concept:** {default[cid]['concept']}\n")
    for letter, (_, text) in zip("AB", pair):
        parts.append(f"\n### {letter}\n\n```yaml\n{text.strip()}\n```\n")
Path(out, "blind-items.md").write_text("".join(parts), encoding="utf-8")
Path(out, "blind-key.json").write_text(json.dumps(key, indent=1) + "\n", encoding="utf-8")
print(f"{len(ids)} pairs: {', '.join(ids)}")
