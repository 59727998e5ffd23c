"""The subject (the words before the modal verb) of every NFR and constraint sentence, per document."""
import json, re, sys
from ba_metric.parse import ParseError, parse
MODAL = re.compile(r"\b(shall|must|deberá|debe|permitirá|responderá|estará|funcionará|cumplirá|se)\b", re.I)
for r in map(json.loads, open(sys.argv[1])):
    try: doc = parse(r["text"])
    except ParseError: print(r["id"], "UNPARSEABLE"); continue
    subs = []
    for cat in ("non_functional_requirements", "constraints"):
        for it in doc.get(cat) or []:
            d = str(it.get("description", "")) if isinstance(it, dict) else ""
            m = MODAL.search(d)
            subs.append(d[: m.start()].strip() if m else "<" + d[:50] + ">")
    print(r["id"], " | ".join(dict.fromkeys(subs)))
