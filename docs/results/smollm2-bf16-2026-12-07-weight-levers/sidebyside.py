import json, sys, difflib
from ba_metric import score
a={json.loads(l)["id"]:json.loads(l) for l in open(sys.argv[1])}
b={json.loads(l)["id"]:json.loads(l) for l in open(sys.argv[2])}
ids=sys.argv[3].split(",") if len(sys.argv)>3 else None
same=sum(a[k]["text"]==b[k]["text"] for k in a); print("identical", same, "of", len(a))
for k in (ids or []):
    sa,sb=score(a[k]["text"],a[k]["concept"]),score(b[k]["text"],b[k]["concept"])
    print(f"===== {k} default content {sa.content:.3f} -> {sb.content:.3f}  lost:{sorted(set(sb.defects)-set(sa.defects))} fixed:{sorted(set(sa.defects)-set(sb.defects))}")
    for line in difflib.unified_diff(a[k]["text"].splitlines(), b[k]["text"].splitlines(), lineterm="", n=0):
        if not line.startswith(("---","+++","@@")): print("   ", line[:200])
