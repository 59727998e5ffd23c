"""Time one ``ba-tune mipro`` run on SmolLM2 and print its baseline/best scores.

    python benchmarks/bench_mipro.py --model hf:artifacts/models/smollm2-135m-instruct \
        --workdir /tmp/tunebench -- --auto light --train-limit 16 --val-limit 8 --max-tokens 512

Without ``--train``/``--val`` it writes a deterministic 24-row example-v2 set (16 train,
8 val; documents in the shape the template teacher writes) into ``--workdir``. Arguments
after ``--`` go to ``ba-tune mipro`` unchanged.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

PRODUCTS = [
    ("community garden plot reservations", "community garden members", "reserve plots and log volunteer hours"),
    ("landlord rent portal", "small landlords", "collect rent and track maintenance requests"),
    ("dog grooming bookings", "a grooming salon", "book appointments and send SMS reminders"),
    ("school library tracker", "school librarians", "check books out by barcode and send overdue notices"),
    ("farm box subscriptions", "local farmers", "sell weekly vegetable boxes with delivery slots"),
    ("clinic scheduling tool", "a physiotherapy clinic", "schedule visits and collect intake forms"),
    ("food bank shift planner", "a food bank", "match volunteers to warehouse shifts"),
    ("theatre ticketing app", "a community theatre", "sell seats from a seat map and season passes"),
    ("student union expenses", "a student union", "route receipts to the treasurer for approval"),
    ("bike fleet maintenance", "a bike-sharing operator", "schedule repairs from rider reports"),
    ("cafe loyalty card", "a neighbourhood cafe", "stamp purchases and redeem free drinks"),
    ("tutor marketplace", "independent tutors", "list lessons and take bookings from parents"),
    ("parking permit system", "a town council", "issue resident parking permits online"),
    ("gym class booking", "a local gym", "book fitness classes and manage waitlists"),
    ("recycling pickup scheduler", "a waste collection company", "schedule bulky-item pickups"),
    ("choir rehearsal planner", "an amateur choir", "plan rehearsals and share sheet music"),
    ("car wash membership", "a car wash chain", "sell monthly wash memberships"),
    ("pet adoption portal", "an animal shelter", "publish pets for adoption and take applications"),
    ("makerspace tool booking", "a makerspace", "book machines and check member training"),
    ("wedding RSVP site", "wedding planners", "collect guest RSVPs and meal choices"),
    ("laundry pickup app", "a laundry service", "schedule pickups and track orders"),
    ("museum audio guide", "a small museum", "play audio stories for exhibits"),
    ("sports league scheduler", "a youth football league", "schedule fixtures and record results"),
    ("allotment waiting list", "an allotment society", "manage the waiting list and plot offers"),
]


def _category(prefix: str, texts: list[str], priorities: list[str]) -> str:
    from ba_metric import render_category

    return render_category(
        [
            {"id": f"{prefix}{i:03d}", "description": t, "priority": p}
            for i, (t, p) in enumerate(zip(texts, priorities), 1)
        ]
    )


def make_rows() -> list[dict]:
    rows = []
    for n, (product, who, task) in enumerate(PRODUCTS, 1):
        concept = f"A {product} for {who} to {task}."
        rows.append(
            {
                "id": f"b{n:03d}",
                "concept": concept,
                "title": product.capitalize(),
                "description": f"An application for {who} to {task}.",
                "functional_requirements": _category(
                    "FR",
                    [
                        f"The system shall let {who} {task}.",
                        f"The system shall keep a history of every {product} transaction.",
                        "The system shall send an email confirmation after each completed action.",
                    ],
                    ["High", "Medium", "Medium"],
                ),
                "non_functional_requirements": _category(
                    "NFR",
                    [
                        "The system shall answer 95% of requests within 2 seconds.",
                        "The system shall encrypt personal data at rest and in transit.",
                        "The system shall be available 99.5% of each month.",
                    ],
                    ["High", "High", "Medium"],
                ),
                "constraints": _category(
                    "C",
                    [
                        "The first release must ship within six months.",
                        "The project budget must not exceed 40,000 euros.",
                        "The system must comply with GDPR.",
                    ],
                    ["High", "Medium", "High"],
                ),
                "teacher": "template",
            }
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--workdir", required=True, type=Path)
    ap.add_argument("--train")
    ap.add_argument("--val")
    ap.add_argument("rest", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    train, val = args.train, args.val
    if not train or not val:
        rows = make_rows()
        train, val = str(args.workdir / "train.jsonl"), str(args.workdir / "val.jsonl")
        Path(train).write_text("".join(json.dumps(r) + "\n" for r in rows[:16]), encoding="utf-8")
        Path(val).write_text("".join(json.dumps(r) + "\n" for r in rows[16:]), encoding="utf-8")
    out = args.workdir / "optimized.json"
    rest = [a for a in args.rest if a != "--"]
    cmd = ["ba-tune", "mipro", "--model", args.model, "--train", train, "--val", val, "--out", str(out), *rest]
    print(" ".join(cmd), file=sys.stderr)
    t0 = time.perf_counter()
    rc = subprocess.call(cmd)
    wall = time.perf_counter() - t0
    if rc:
        return rc
    log = json.loads((args.workdir / "optimized.log.json").read_text())
    summary = {
        "command": " ".join(cmd),
        "wall_s": round(wall, 1),
        "optimizer_s": log["time"]["elapsed_s"],
        "baseline": log["baseline_score"],
        "best": log["best_score"],
        "improved": log["improved"],
        "trials": len(log["trials"]),
        "task_calls": (log["lm_calls"]["task"] or {}).get("calls"),
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
