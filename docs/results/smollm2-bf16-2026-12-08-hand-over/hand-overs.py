"""Every hand-over constraint ("delivered with" / "handed over with") in predictions, teacher rows and references."""
import json, re, sys, yaml
HO = re.compile(r"\b(?:delivered|handed over|handed|supplied|provided|shipped|entregad[oa]s?|entregarse)\s+(?:together\s+)?(?:with|con)\b(.*)", re.I)
def constraints(row):
    if "text" in row:
        try: d = yaml.safe_load(row["text"])
        except Exception: return []
        c = d.get("constraints") if isinstance(d, dict) else None
    else:
        c = row.get("constraints")
        if isinstance(c, str):
            try: c = yaml.safe_load(c)
            except Exception: return []
    out = []
    for it in c or []:
        if isinstance(it, dict) and isinstance(it.get("description"), str): out.append((it.get("id"), it["description"]))
    return out
for path in sys.argv[1:]:
    for l in open(path):
        r = json.loads(l)
        for cid, t in constraints(r):
            m = HO.search(t)
            if m: print(f"{path}\t{r['id']}\t{cid}\t{t}")
