import json, sys
sys.path.insert(0, "/work/main/packages/ba-metric/src"); sys.path.insert(0, "/work/main/packages/ba-datagen/src")
from ba_metric import score
from ba_datagen.concepts import generate_concepts
from ba_datagen.template import write_document
for seed in (42, 43, 7):
    rows = generate_concepts(210, seed)
    c=[]; hits=0
    for r in rows:
        s = score(write_document(r), r["concept"]); c.append(s.content)
        for d in s.defects:
            if d.startswith("unfit_platform"): hits+=1; print(seed, r["id"], d, r["concept"][:120])
    print(seed, "teacher content mean", round(sum(c)/len(c),4), "unfit_platform", hits)
