"""figures.py SCORED... : per file (ba-metric score output) total, content, grounding, runaways,
documents with a duplicate, and the curated Spanish rows' grounding and content."""
import json, statistics as st, sys
from pathlib import Path
CURATED = Path(__file__).resolve().parents[3] / "packages/ba-eval/src/ba_eval/data/curated.jsonl"
lang = {json.loads(l)["id"]: json.loads(l).get("language") for l in CURATED.open()}
for p in sys.argv[1:]:
    rows = [json.loads(l) for l in open(p)]
    es = [r for r in rows if lang.get(r["id"]) == "es"]
    m = lambda rs, k: f"{st.mean(r[k] for r in rs):.3f}" if rs else "-"
    print(f"{Path(p).name}: n {len(rows)}, total {m(rows, 'score')}, content {m(rows, 'content')}, grounding {m(rows, 'grounding')}, "
          f"runaways {sum(r['finish_reason'] != 'stop' for r in rows)}, "
          f"documents with a duplicate {sum(any(d.startswith('duplicate') for d in r['defects']) for r in rows)}, "
          f"Spanish n {len(es)}, grounding {m(es, 'grounding')}, content {m(es, 'content')}")
