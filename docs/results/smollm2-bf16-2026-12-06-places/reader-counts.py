"""Per-run reader counts on curated predictions: places as constraints, GDPR/RGPD not in the concept."""
import json, re, sys
cur = {json.loads(l)["id"]: json.loads(l)["concept"] for l in open("/work/main/packages/ba-eval/src/ba_eval/data/curated.jsonl")}
import yaml
for path in sys.argv[1:]:
    rows = [json.loads(l) for l in open(path)]
    gdpr = [r["id"] for r in rows if re.search(r"GDPR|RGPD", r["text"]) and not re.search(r"GDPR|RGPD", cur[r["id"]])]
    places = ("Texas", "Ohio", "Leeds", "Bristol", "France", "Africa", "United States", "Vigo", "Valencia",
              "Burgos", "Zaragoza", "Sevilla", "Murcia", "Rioja", "on site")
    place = []
    for r in rows:
        try:
            doc = yaml.safe_load(r["text"])
        except Exception:
            continue
        for c in (doc or {}).get("constraints") or []:
            d = c.get("description", "") if isinstance(c, dict) else str(c)
            if any(p.lower() in d.lower() for p in places):
                place.append((r["id"], d))
    print(path, "GDPR not in concept:", len(gdpr), gdpr)
    print("  documents with a curated place in a constraint:", len({i for i, _ in place}), sorted({i for i, _ in place}))
