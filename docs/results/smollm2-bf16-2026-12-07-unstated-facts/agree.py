"""How often the content score (old rule: stored scored files; new rule: re-scored now) picks the
document the blind reader chose, over the non-tie pairs of stop 53's seed-42 blind read."""
import json, re, sys
from ba_metric import score
D = "docs/results/smollm2-bf16-2026-12-06-needs"
key = json.load(open(f"{D}/blind-key-s42.json"))
choice = {}
for line in open(f"{D}/blind-read-s42-choices.md"):
    m = re.match(r"\| (cur-\d+) \| (A|B|tie) \|", line)
    if m: choice[m[1]] = m[2]
def load(p): return {r["id"]: r for r in map(json.loads, open(p))}
old = {"ref": load(f"{D}/scored/reference-curated-s42.jsonl"), "new": load(f"{D}/scored/curated-s42.jsonl")}
pred = {"ref": load("docs/results/smollm2-bf16-2026-12-06-avx2/curated-s42-predictions.jsonl"),
        "new": load(f"{D}/curated-s42-predictions.jsonl")}
tally = {"old": [0, 0, 0], "new": [0, 0, 0]}  # agree, disagree, equal
for cid, c in sorted(choice.items()):
    if c == "tie": continue
    chosen = key[cid][c]; other = "new" if chosen == "ref" else "ref"
    for rule in ("old", "new"):
        if rule == "old":
            a, b = old[chosen][cid]["content"], old[other][cid]["content"]
        else:
            a = score(pred[chosen][cid]["text"], pred[chosen][cid]["concept"]).content
            b = score(pred[other][cid]["text"], pred[other][cid]["concept"]).content
        tally[rule][0 if a > b else 1 if a < b else 2] += 1
print("non-tie pairs:", sum(tally["old"]))
for rule, (ag, dis, eq) in tally.items():
    print(f"{rule} rule: content higher for the reader's choice {ag}, lower {dis}, equal {eq}")
