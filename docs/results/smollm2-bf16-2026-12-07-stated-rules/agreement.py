"""Agreement of the stated-rule verdicts (pre-registered and amended) with the blind reader.

Run from the repository root: python docs/results/smollm2-bf16-2026-12-07-stated-rules/agreement.py
"""

import json
import re

HERE = "docs/results/smollm2-bf16-2026-12-07-stated-rules"
key = {k["n"]: k for k in json.load(open(f"{HERE}/blind/key.json"))}
answers = {}
for line in open(f"{HERE}/blind/answers.md"):
    m = re.match(r"\|\s*(\d+)\s*\|\s*(stated|dropped)\s*\|\s*([^|]+?)\s*\|\s*(.*?)\s*\|$", line.strip())
    if m:
        answers[int(m[1])] = (m[2] == "stated", m[3], m[4])
assert set(answers) == set(key), "every item answered once"
for version in ("prereg_kept", "amended_kept"):
    for group, members in (("model documents", [n for n in key if key[n]["src"] != "ref"]), ("references", [n for n in key if key[n]["src"] == "ref"])):
        agree = sum(answers[n][0] == key[n][version] for n in members)
        print(f"{version:13s} {group:16s} {agree}/{len(members)} agree")
print("\ndisagreements of the amended rule:")
for n in sorted(key):
    if answers[n][0] != key[n]["amended_kept"]:
        k = key[n]
        print(f"  {n}: {k['src']} {k['split']} {k['id']} rule {'kept' if k['amended_kept'] else 'dropped'}, reader {'stated' if answers[n][0] else 'dropped'} (B: {answers[n][1]}): {answers[n][2]}")
