"""blind-pairs.py REF NEW OUTDIR [SEED KEYDIR]: per curated id, the concept and the two documents as
A and B in an order drawn with SEED (51); the pairs go to OUTDIR/pairs.md, the key (which is which)
to KEYDIR/key-<OUTDIR's name>.json (/tmp/s51), away from the reader (committed as blind-key-s42.json
here and, run with 52 /root/s52key, in the regulations folder)."""
import json, random, sys
ref, new, out = sys.argv[1:4]
seed, keydir = (int(sys.argv[4]), sys.argv[5]) if len(sys.argv) > 5 else (51, "/tmp/s51")
cur = {json.loads(l)["id"]: json.loads(l)["concept"] for l in open("/work/main/packages/ba-eval/src/ba_eval/data/curated.jsonl")}
a = {json.loads(l)["id"]: json.loads(l)["text"] for l in open(ref)}
b = {json.loads(l)["id"]: json.loads(l)["text"] for l in open(new)}
rng = random.Random(seed)
key, parts = {}, []
for rid in sorted(cur):
    flip = rng.random() < 0.5
    first, second = (b[rid], a[rid]) if flip else (a[rid], b[rid])
    key[rid] = {"A": "new" if flip else "ref", "B": "ref" if flip else "new"}
    parts.append(f"## {rid}\n\n**Concept:**\n\n{cur[rid]}\n\n**Document A:**\n\n```yaml\n{first}\n```\n\n**Document B:**\n\n```yaml\n{second}\n```\n")
import os
os.makedirs(out, exist_ok=True)
open(f"{out}/pairs.md", "w").write("\n".join(parts))
json.dump(key, open(f"{keydir}/key-{os.path.basename(out)}.json", "w"), indent=1)
