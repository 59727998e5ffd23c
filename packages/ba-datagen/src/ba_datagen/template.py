"""The offline template teacher: a requirements document written from a concept's facts.

Functional requirements come from the features and the actors who use them, one each
(plus, for smaller feature sets, an account-administration requirement); non-functional
requirements are measurable and fit the domain (regulation, performance, availability,
security, accessibility, retention, ...); constraints restate the concept's budget,
timeline, regulation and technical limits plus its platforms. Every sentence names the
product, an actor or a feature, so the document stays grounded in the concept text.
Output is deterministic per concept (seeded by the concept's id and text) and uses
FR001-style IDs.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Callable, Mapping

from .vocab import article, cap, domains, join, platform_phrase

__all__ = ["TemplateError", "write_document"]

_PRIORITY_MIX = ("High", "Medium", "Medium", "Low")


class TemplateError(ValueError):
    """The concept lacks the structured facts the template teacher writes from."""


def _rng(row: Mapping[str, Any]) -> random.Random:
    key = f"{row.get('id', '')}\x00{row.get('concept', '')}".encode("utf-8")
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def _facts(row: Mapping[str, Any]) -> dict[str, Any]:
    facts = row.get("facts")
    if not isinstance(facts, Mapping):
        raise TemplateError("no facts: the template teacher writes from facts.product/features/actors")
    for key in ("product", "features", "actors"):
        value = facts.get(key)
        if not value or not (isinstance(value, str) if key == "product" else isinstance(value, list)):
            raise TemplateError(f"facts.{key} is missing or empty")
    if not all(isinstance(f, str) and f.strip() for f in facts["features"]):
        raise TemplateError("facts.features must be non-empty strings")
    out = dict(facts)
    actors = out.get("feature_actors")
    if not isinstance(actors, list) or len(actors) != len(out["features"]):
        out["feature_actors"] = [out["actors"][0]] * len(out["features"])
    out.setdefault("constraints", [])
    out.setdefault("platforms", [])
    return out


def _title(f: dict[str, Any], rng: random.Random) -> str:
    org = f.get("organization")
    product = cap(f["product"])
    if isinstance(org, str) and org:
        the_org = "the " + org.split(" ", 1)[1] if org.startswith(("a ", "an ")) else org
        return f"{product} for {the_org}"
    return f"{product} for {join(f['actors'])}"


def _description(f: dict[str, Any], rng: random.Random) -> str:
    groups: dict[str, list[str]] = {}
    for actor, feature in zip(f["feature_actors"], f["features"]):
        groups.setdefault(actor, []).append(feature)
    (first, feats), *others = groups.items()
    who = f" for {f['organization']}" if f.get("organization") else ""
    where = f", available {platform_phrase(f['platforms'])}," if f["platforms"] else ""
    text = f"{cap(article(f['product']))}{who}{where} that lets {first} {join(feats[:2])}"
    if others:
        text += f", with tools for {join([actor for actor, _ in others])}"
    text += "."
    if len(text.split()) < 15:  # the rubric wants a description of 15+ words
        text += f" It covers {len(f['features'])} tasks: {join(f['features'])}."
    return text


_FR_FORMS = (
    "The system shall allow {actor} to {feature}.",
    "The {product} shall allow {actor} to {feature}.",
    "The system shall enable {actor} to {feature}.",
    "{Actor} shall be able to {feature} in the {product}.",
)


def _functional(f: dict[str, Any], rng: random.Random) -> list[dict[str, str]]:
    items = []
    for i, (actor, feature) in enumerate(zip(f["feature_actors"], f["features"])):
        form = rng.choice(_FR_FORMS)
        text = form.format(actor=actor, Actor=cap(actor), feature=feature, product=f["product"])
        items.append({"description": text, "priority": "High" if i == 0 else rng.choice(_PRIORITY_MIX)})
    if len(items) == 3 and rng.random() < 0.5:
        items.append({
            "description": f"The {f['product']} shall let administrators manage accounts and access roles "
                           f"for {join(f['actors'])}.",
            "priority": rng.choice(("Medium", "Low")),
        })
    return items


def _nfr_pool(f: dict[str, Any], dom: Mapping[str, Any] | None, rng: random.Random) -> dict[str, Callable[[], tuple[str, str]]]:
    """Generators of (sentence, priority), one per NFR kind."""
    p, actors = f["product"], f["feature_actors"]
    feature_i = rng.randrange(len(f["features"]))
    pool: dict[str, Callable[[], tuple[str, str]]] = {
        "performance": lambda: (
            f"The {p} shall respond to {rng.choice((95, 99))}% of requests within "
            f"{rng.choice((1, 2, 3))} seconds with {rng.choice((50, 100, 200, 500))} concurrent users.",
            rng.choice(("High", "Medium"))),
        "availability": lambda: (
            f"The {p} shall be available {rng.choice(('99.5', '99.9', '99'))}% of the time each month, "
            "excluding planned maintenance.", rng.choice(("High", "Medium"))),
        "security": lambda: (
            f"All data in the {p} shall be encrypted in transit with TLS 1.2 or later and at rest with AES-256.",
            "High"),
        "accessibility": lambda: (
            f"The {p} shall meet WCAG {rng.choice(('2.1', '2.2'))} AA accessibility guidelines.",
            rng.choice(("Medium", "Low"))),
        "usability": lambda: (
            f"New {actors[feature_i]} shall be able to {f['features'][feature_i]} in the {p} within "
            f"{rng.choice((2, 3, 5))} minutes without training.", rng.choice(("Medium", "Low"))),
        "backup": lambda: (
            f"The {p} shall back up its data every {rng.choice((6, 12, 24))} hours and restore service within "
            f"{rng.choice((2, 4, 8))} hours of a failure.", rng.choice(("Medium", "Low"))),
    }
    if dom is not None:
        records, years = dom["records"], rng.choice(dom["retention_years"])
        pool["retention"] = lambda: (
            f"{cap(records)} held by the {p} shall be retained for {years} years and then deleted securely.",
            rng.choice(("Medium", "Low")))
        chosen = set(_feature_indices(f, dom))
        fitting = [e["text"] for e in dom["nfr"] if not e.get("needs") or chosen & set(e["needs"])]
        if fitting:
            text = rng.choice(fitting).format(product=p)
            pool["domain"] = lambda: (text, rng.choice(("High", "Medium")))
    if any(x in f["platforms"] for x in ("iOS", "Android")):
        mobile = join([x for x in f["platforms"] if x in ("iOS", "Android")])
        pool["platform"] = lambda: (
            f"The {p} shall support the two latest major versions of {mobile}.", rng.choice(("Medium", "Low")))
    return pool


def _feature_indices(f: dict[str, Any], dom: Mapping[str, Any]) -> list[int]:
    texts = {text: i for i, (_, text) in enumerate(dom["features"])}
    return [texts[x] for x in f["features"] if x in texts]


def _regulation(constraint: str) -> str | None:
    return constraint[len("comply with "):] if constraint.startswith("comply with ") else None


_REGULATION_NFR = {
    "HIPAA": "Protected health information in the {p} shall be visible only to authorised staff, "
             "and every access shall be logged for HIPAA audits.",
    "GDPR": "The {p} shall let {actor} export or erase their personal data within 30 days of a request, "
            "as GDPR requires.",
    "PCI DSS": "The {p} shall never store full card numbers; card payments shall go through a PCI DSS "
               "Level 1 certified provider.",
    "FERPA": "Student records in the {p} shall be disclosed only to authorised school staff and parents, "
             "as FERPA requires.",
    "COPPA": "The {p} shall obtain verifiable parental consent before collecting data from children under 13, "
             "as COPPA requires.",
    "CCPA": "The {p} shall let {actor} opt out of the sale of their personal data and delete it on request, "
            "as CCPA requires.",
    "SOX": "Every change to financial data in the {p} shall be recorded in a tamper-evident audit log "
           "kept for 7 years for SOX audits.",
}
_GENERIC_REGULATION_NFR = ("The {p} shall keep an audit trail of every change to personal data and pass "
                           "a {reg} compliance review before launch.")


def _non_functional(f: dict[str, Any], dom: Mapping[str, Any] | None, rng: random.Random,
                    n_functional: int) -> list[dict[str, str]]:
    items: list[dict[str, str]] = []
    regs = [r for r in map(_regulation, f["constraints"]) if r]
    if regs:
        reg = regs[0]
        text = _REGULATION_NFR.get(reg, _GENERIC_REGULATION_NFR)
        items.append({"description": text.format(p=f["product"], reg=reg, actor=f["feature_actors"][0]),
                      "priority": "High"})
    pool = _nfr_pool(f, dom, rng)
    want = 4 if n_functional <= 3 else 3  # keeps a document near 250-450 tokens
    kinds = list(pool)
    rng.shuffle(kinds)
    for kind in kinds:
        if len(items) >= want:
            break
        text, priority = pool[kind]()
        items.append({"description": text, "priority": priority})
    return items


def _constraint_text(c: str, product: str) -> tuple[str, str]:
    if "$" in c or "budget" in c:
        return f"The project must {c}.", "High"
    if _regulation(c) is not None:
        return f"The {product} must {c}.", "High"
    if any(w in c for w in ("launch", "go live", "ready", "ship", "weeks", "months")):
        return f"The project must {c}.", "Medium"
    return f"The {product} must {c}.", "Medium"


def _constraints(f: dict[str, Any], rng: random.Random) -> list[dict[str, str]]:
    items = []
    for c in f["constraints"]:
        if isinstance(c, str) and c.strip():
            text, priority = _constraint_text(c.strip().rstrip("."), f["product"])
            items.append({"description": text, "priority": priority})
    if f["platforms"]:
        items.append({"description": f"The {f['product']} must run {platform_phrase(f['platforms'])}.",
                      "priority": rng.choice(("High", "Medium"))})
    fallbacks = [f"The {f['product']} must be delivered with user documentation for {join(f['actors'])}.",
                 f"The {f['product']} must be handed over with its source code and deployment instructions."]
    while len(items) < 2:
        items.append({"description": fallbacks.pop(0), "priority": "Low"})
    return items


def _number(items: list[dict[str, str]], prefix: str) -> list[dict[str, str]]:
    return [{"id": f"{prefix}{i:03d}", **item} for i, item in enumerate(items, start=1)]


def write_document(row: Mapping[str, Any]) -> dict[str, Any]:
    """The template teacher's document for one concept row (``concept`` schema with facts).

    Args:
        row: a concept row; needs ``facts.product``, ``facts.features`` and ``facts.actors``
            (``feature_actors``, ``constraints``, ``platforms``, ``organization`` and a known
            ``domain`` make it richer).

    Returns:
        ``{title, description, functional_requirements, non_functional_requirements,
        constraints}`` with the categories as lists of ``{id, description, priority}``.

    Raises:
        TemplateError: the row has no usable facts.
    """
    f = _facts(row)
    dom = domains().get(row.get("domain", ""))
    rng = _rng(row)
    functional = _functional(f, rng)
    return {
        "title": _title(f, rng),
        "description": _description(f, rng),
        "functional_requirements": _number(functional, "FR"),
        "non_functional_requirements": _number(_non_functional(f, dom, rng, len(functional)), "NFR"),
        "constraints": _number(_constraints(f, rng), "C"),
    }
