"""Documents whose content score charges a law the concept never names (``unstated_fact`` on a
unit that names a law), and any unstated fact, per scored file; and, for the curated concepts that do name a law,
whether the document names it. Usage: python lawcount.py SCORED.jsonl [...]"""

import json
import re
import sys

import yaml

LAW = re.compile(r"\b(U\.?K\.? GDPR|GDPR|RGPD|LOPDGDD|HIPAA|CCPA|COPPA|FERPA|SOX|PSD2|eIDAS)\b", re.IGNORECASE)


def units(text: str) -> dict[str, str]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    if not isinstance(doc, dict):
        return {}
    out = {"description": str(doc.get("description", "")), "title": str(doc.get("title", ""))}
    for cat in ("functional_requirements", "non_functional_requirements", "constraints"):
        for item in doc.get(cat) or []:
            if isinstance(item, dict):
                out[str(item.get("id"))] = str(item.get("description", ""))
    return out


for path in sys.argv[1:]:
    charged, any_fact, named_kept, named = [], [], [], []
    for line in open(path, encoding="utf-8"):
        row = json.loads(line)
        u = units(row["text"])
        hits = [d for d in row["defects"] if d.startswith("unstated_fact:") and LAW.search(u.get(d.split(":", 1)[1], ""))]
        if hits:
            charged.append(row["id"])
        if any(d.startswith("unstated_fact:") for d in row["defects"]):
            any_fact.append(row["id"])
        said = {m.upper() for m in LAW.findall(row["concept"])}
        if said:
            named.append(row["id"])
            wrote = {m.upper() for m in LAW.findall(row["text"])}
            if said & wrote:
                named_kept.append(row["id"])
    print(f"{path}: {len(charged)} documents charged a law, {len(any_fact)} any unstated fact; concepts naming a law {len(named)}, "
          f"whose document names it {len(named_kept)} {named_kept}")
