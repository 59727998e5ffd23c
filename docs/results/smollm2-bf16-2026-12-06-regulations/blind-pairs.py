"""blind-pairs.py REF NEW OUTDIR: per curated id, the concept and the two documents as A and B in
a seeded random order; the pairs go to OUTDIR/pairs.md, the key (which is which) to
/root/s52key/key-<OUTDIR's name>.json, away from the reader (committed here as blind-key-s42.json)."""
import json, random, sys
ref, new, out = sys.argv[1:4]
cur = {json.loads(l)["id"]: json.loads(l)["concept"] for l in open("/work/main/packages/ba-eval/src/ba_eval/data/curated.jsonl")}
a = {json.loads(l)["id"]: json.loads(l)["text"] for l in open(ref)}
b = {json.loads(l)["id"]: json.loads(l)["text"] for l in open(new)}
rng = random.Random(52)
key, parts = {}, []
for rid in sorted(cur):
    flip = rng.random() < 0.5
    first, second = (b[rid], a[rid]) if flip else (a[rid], b[rid])
    key[rid] = {"A": "new" if flip else "ref", "B": "ref" if flip else "new"}
    parts.append(f"## {rid}\n\n**Concept:**\n\n{cur[rid]}\n\n**Document A:**\n\n```yaml\n{first}\n```\n\n**Document B:**\n\n```yaml\n{second}\n```\n")
import os
os.makedirs(out, exist_ok=True)
open(f"{out}/pairs.md", "w").write("\n".join(parts))
json.dump(key, open(f"/root/s52key/key-{os.path.basename(out)}.json", "w"), indent=1)
