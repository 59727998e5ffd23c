"""The blind reader's verdicts (blind-answers.md) against the old and the new rule (blind-key.json),
in this folder or the one given: agree.py [FOLDER] (the laws folder's agreement.txt is
`agree.py docs/results/smollm2-bf16-2026-12-07-laws`)."""
import json, os, re, sys
HERE = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
key = json.load(open(os.path.join(HERE, "blind-key.json")))
ans = {}
for line in open(os.path.join(HERE, "blind-answers.md")):
    m = re.match(r"\|\s*(\d+)\s*\|\s*(stated|invented)\s*\|(.*)\|", line)
    if m:
        ans[int(m[1])] = (m[2], m[3].strip())
assert len(ans) == len(key), (len(ans), len(key))
def row(n, k):
    old = k["now"] if not k["changed"] else ("excused" if k["now"] == "charged" else "charged")
    return old, k["now"]
for label, pick in [("changed (new rule charges, old excused)", lambda k: k["changed"]), ("unchanged controls", lambda k: not k["changed"])]:
    items = [(n, k) for n, k in enumerate(key, 1) if pick(k)]
    inv = sum(ans[n][0] == "invented" for n, _ in items)
    print(f"{label}: {len(items)} items, reader says invented {inv} ({inv / len(items):.0%})")
agree = {"old": 0, "new": 0}
for n, k in enumerate(key, 1):
    old, new = row(n, k)
    reader = "charged" if ans[n][0] == "invented" else "excused"
    agree["old"] += old == reader; agree["new"] += new == reader
print(f"agreement with the reader over all {len(key)}: old rule {agree['old']}, new rule {agree['new']}")
print("\nchanged items:")
for n, k in enumerate(key, 1):
    if k["changed"]:
        print(f"  {n:2d} {k['set']:13s} {k['id']} {k['rid']}: reader {ans[n][0]:8s} ({ans[n][1]})")
print("\ncontrols the reader disagrees with (both rules):")
for n, k in enumerate(key, 1):
    if not k["changed"] and (ans[n][0] == "invented") != (k["now"] == "charged"):
        print(f"  {n:2d} {k['set']:13s} {k['id']} {k['rid']}: rules {k['now']}, reader {ans[n][0]} ({ans[n][1]})")

# the newly charged constraints by part of the rule: (a) platform fit when the constraint names a
# platform entry, else (b) generic shared words; the constraint texts are blind-items.md's
from ba_metric.content import _Item, _platforms
texts = dict((int(n), c) for n, c in re.findall(r"## (\d+)\n\nConcept: .*?\n\nConstraint: (.*?)\n", open(os.path.join(HERE, "blind-items.md")).read(), re.S))
split = {}
for n, k in enumerate(key, 1):
    if k["changed"] and n in texts:  # constraints only (the laws folder's items are sentences)
        item = _Item("x", "constraints", texts[n])
        part = "platform fit" if _platforms(item.tokens, item.padded) else "generic words"
        split.setdefault(part, [0, 0])[ans[n][0] == "invented"] += 1
if split:
    print("\nnewly charged by part (stated, invented):", split)
