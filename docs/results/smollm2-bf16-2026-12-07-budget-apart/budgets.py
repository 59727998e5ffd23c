"""Per scored curated predictions file: the English and Spanish concepts that state a budget
(an amount of at least 1,000 in the concept) and those whose document drops it
(``dropped_limit:budget``), and documents that say the budget is not set. Usage:
python budgets.py SCORED.jsonl ..."""

import json
import re
import sys

from ba_metric.grounding import fold
from ba_metric.quantities import quantities

SPANISH = re.compile(r"\b(el|la|los|las|que|para|con|una|del)\b")

for path in sys.argv[1:]:
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    out = {}
    for lang in ("en", "es"):
        rs = [r for r in rows if bool(SPANISH.search(r["concept"].lower())) == (lang == "es")]
        stated = [r for r in rs if any(m >= 1000 for m in quantities(fold(r["concept"])).money)]
        dropped = [r["id"] for r in stated if "dropped_limit:budget" in r["defects"]]
        out[lang] = f"{len(dropped)} of {len(stated)} dropped {dropped}"
    denied = [r["id"] for r in rows if re.search(r"budget[^.\n]*not (set|stated|given)", r.get("text", ""), re.I)]
    print(f"{path.rsplit('/', 1)[-1]}: English {out['en']}; Spanish {out['es']}; 'budget not set' {denied}")
