"""Which epoch each rule keeps, and what each epoch's documents score (preregistration.md).

usage: epochs.py NAME=INFO,VAL1,VAL2,CUR1,CUR2 ...   (INFO: a training_info.json with both
epochs' validation losses; VALk / CURk: the validation / curated predictions of epoch k's
adapter, in the validation split's order). Scores with the ba_metric installed.
"""

import json
import sys

from scipy.stats import ttest_rel

from ba_lora.trainer import content_noise
from ba_metric import score

DELTA = 0.01


def fmt(x):
    return "-" if x is None else f"{x:.3f}"


def contents(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    return [r["id"] for r in rows], [float(score(r["text"], concept=r["concept"]).content) for r in rows]


def noise(new, best):
    return content_noise(new, best, DELTA)  # ba-lora's own rule, not a copy of it


def r0(c1, c2, l1, l2):
    m1, m2 = sum(c1) / len(c1), sum(c2) / len(c2)
    return 2 if m2 > m1 + DELTA or (m2 >= m1 and l2 < l1 - DELTA) else 1


def r1(c1, c2, l1, l2):
    gain, n = sum(c2) / len(c2) - sum(c1) / len(c1), noise(c2, c1)
    return 2 if gain > n or (gain >= -n and l2 < l1 - DELTA) else 1


def main(specs):
    print(
        "| run | kept | val loss e1 / e2 | in-run content e1 / e2 | offline 4: e1 / e2 | R0(4) | R1(4): gain / noise | R1(21) | R2 | curated content e1 / e2 (p) | val content e1 / e2 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for spec in specs:
        name, rest = spec.split("=", 1)
        info, v1, v2, k1, k2 = rest.split(",")
        ti = json.load(open(info))
        ep = {e["epoch"]: e for e in ti["epochs"]}
        l1, l2 = ep[1]["val_loss"], ep[2]["val_loss"]
        ids1, vc1 = contents(v1)
        ids2, vc2 = contents(v2)
        assert ids1 == ids2, "validation predictions in different orders"
        kid1, cc1 = contents(k1)
        kid2, cc2 = contents(k2)
        assert kid1 == kid2, "curated predictions in different orders"
        mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
        p = ttest_rel(cc2, cc1).pvalue if cc1 != cc2 else 1.0
        print(
            f"| {name} | {ti.get('best_epoch')} | {l1:.3f} / {l2:.3f} | {fmt(ep[1].get('content'))} / {fmt(ep[2].get('content'))} "
            f"| {mean(vc1[:4]):.3f} / {mean(vc2[:4]):.3f} | {r0(vc1[:4], vc2[:4], l1, l2)} | {r1(vc1[:4], vc2[:4], l1, l2)}: "
            f"{mean(vc2[:4]) - mean(vc1[:4]):+.3f} / {noise(vc2[:4], vc1[:4]):.3f} "
            f"| {r1(vc1, vc2, l1, l2)} | {2 if l2 < l1 - DELTA else 1} | {mean(cc1):.3f} / {mean(cc2):.3f} (p = {p:.2g}) "
            f"| {mean(vc1):.3f} / {mean(vc2):.3f} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
