"""regulation-counts.py PREDICTIONS... : per run, curated documents naming a regulation their concept
does not, and of the concepts that name one, how many documents keep it."""
import json, re, sys
from pathlib import Path
CURATED = Path(__file__).resolve().parents[3] / "packages/ba-eval/src/ba_eval/data/curated.jsonl"
cur = {json.loads(l)["id"]: json.loads(l)["concept"] for l in CURATED.open()}
REG = re.compile(r"\b(GDPR|RGPD|HIPAA|PCI[ -]DSS|PCI|SOX|CCPA|FERPA|COPPA|FDA|21 CFR|LOPD)\b")
stated = {i: set(REG.findall(c)) for i, c in cur.items() if REG.search(c)}
for path in sys.argv[1:]:
    rows = [json.loads(l) for l in open(path)]
    unstated = {r["id"]: sorted(set(REG.findall(r["text"])) - set(REG.findall(cur[r["id"]]))) for r in rows}
    unstated = {k: v for k, v in unstated.items() if v}
    kept = [r["id"] for r in rows if r["id"] in stated and stated[r["id"]] & set(REG.findall(r["text"]))]
    print(f"{path}: documents naming a regulation their concept does not: {len(unstated)} {unstated}")
    print(f"  of the {len(stated)} concepts that name one ({sorted(stated)}), documents that keep it: {len(kept)} {kept}")
