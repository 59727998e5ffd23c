"""A fixed synthetic set of v2 examples of realistic length (about 150 prompt tokens for
the concept and template, 300-400 answer tokens), for benchmarks and tests.

    python benchmarks/synth_rows.py --n 48 --seed 0 --out rows.jsonl
"""

from __future__ import annotations

import argparse
import json
import random

PRODUCTS = [
    "mobile app",
    "web portal",
    "booking platform",
    "inventory service",
    "scheduling tool",
    "marketplace",
    "analytics dashboard",
    "messaging hub",
    "learning platform",
    "field-service app",
]
USERS = [
    "community garden members",
    "small bakeries",
    "veterinary clinics",
    "school librarians",
    "freelance translators",
    "hospital porters",
    "bike-repair shops",
    "city museum staff",
    "amateur football clubs",
    "warehouse pickers",
    "dog walkers",
    "tenant associations",
]
ACTIONS = [
    "reserve resources for a season",
    "log volunteer hours",
    "track orders from several channels",
    "send reminders before appointments",
    "share shift schedules",
    "collect signed consent forms",
    "report faults with photos",
    "compare supplier prices",
    "manage waiting lists",
    "issue and scan digital tickets",
    "plan delivery routes",
    "publish weekly menus",
]
QUALITIES = [
    ("respond within 2 seconds for 95 percent of requests", "Medium"),
    ("encrypt personal data at rest and in transit", "High"),
    ("meet WCAG 2.1 AA accessibility guidelines", "Medium"),
    ("stay available 99.5 percent of each month", "High"),
    ("support 500 concurrent users without degradation", "Medium"),
    ("keep an audit log of every change for two years", "Low"),
    ("work offline and sync within 60 seconds of reconnecting", "Medium"),
    ("let a new user finish onboarding in under five minutes", "Low"),
]
LIMITS = [
    ("The first release must ship within four months", "High"),
    ("The build budget is under 40000 euros", "High"),
    ("The system must comply with GDPR", "High"),
    ("It must run on the existing cloud account of the client", "Medium"),
    ("Only open-source libraries with permissive licences may be used", "Medium"),
    ("The mobile clients must support the last two OS versions", "Low"),
    ("Payments must go through the current payment provider", "Medium"),
]
VERBS = ["create", "edit", "cancel", "search", "filter", "export", "approve", "archive", "import", "review"]
OBJECTS = [
    "bookings",
    "member profiles",
    "invoices",
    "tasks",
    "inventory items",
    "messages",
    "reports",
    "shift slots",
    "notifications",
    "feedback entries",
    "price lists",
    "user roles",
]
PRIO = ["High", "Medium", "Low"]


def _yaml_list(prefix: str, items: list[tuple[str, str]]) -> str:
    return "".join(f"- id: {prefix}{i:03d}\n  description: {d}\n  priority: {p}\n" for i, (d, p) in enumerate(items, 1))


def make_row(i: int, rng: random.Random) -> dict:
    product, users, action = rng.choice(PRODUCTS), rng.choice(USERS), rng.choice(ACTIONS)
    second = rng.choice([a for a in ACTIONS if a != action])
    concept = (
        f"A {product} for {users} to {action} and {second}. It should replace spreadsheets and phone calls, "
        f"give managers an overview of the week, and notify people when something changes."
    )
    n_fr = rng.randint(5, 8)
    fr = [
        (
            f"Users shall be able to {rng.choice(VERBS)} {rng.choice(OBJECTS)} from the {product}, "
            f"with changes visible to other {users} immediately.",
            rng.choice(PRIO),
        )
        for _ in range(n_fr)
    ]
    nfr = [(f"The {product} shall {q}.", p) for q, p in rng.sample(QUALITIES, rng.randint(3, 5))]
    con = [(f"{c}.", p) for c, p in rng.sample(LIMITS, rng.randint(3, 4))]
    title = f"{product.title()} for {users}"
    return {
        "id": f"s{i:04d}",
        "concept": concept,
        "title": title,
        "description": f"A {product} that lets {users} {action} and {second}.",
        "functional_requirements": _yaml_list("FR", fr),
        "non_functional_requirements": _yaml_list("NFR", nfr),
        "constraints": _yaml_list("C", con),
        "teacher": "synthetic",
    }


def make_rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [make_row(i, rng) for i in range(n)]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.out, "w", encoding="utf-8") as f:
        for row in make_rows(a.n, a.seed):
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
