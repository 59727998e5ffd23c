"""Business concepts from templates (no LLM): structured facts first, then the text.

Each concept is built in two steps. First its *facts* are drawn from a domain vocabulary
(organisation, product kind, 3-5 features each tied to an actor, 0-3 constraints, target
platforms or none: about a quarter of the English concepts state no limit and 30 % name no
platform, as people write them); then one of the STRUCTURES turns the facts into text in a
shape people write: paragraphs, one-liners, bullet lists, "We need...", "Build an app
that...", questions, implicit actors ("patients book appointments"). Budgets come in several
number formats and currencies ($40k, 40,000 USD, USD 40,000, 40k dollars, £40k, €40,000, 40k
euros, 40 grand), some concepts state no budget or deadline, and about one in eight is
written in lower case with a small typo (``style``).

Every fact appears in the text and the facts hold nothing the text leaves out (a structure
that omits the organisation sets ``organization`` to null; a one-liner keeps 3 features and
at most 1 constraint), so a teacher that writes from the facts stays grounded in what a model
is later shown. The facts (product + feature set) are unique per run, so no two concepts ask
for the same requirements.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ba_io import UsageError

from .spanish import STRUCTURES_ES, domains_es, draw_facts_es, render_concept_es
from .vocab import LAW_SHARE, PLATFORM_SETS, actor_groups, article, cap, domains, join, platform_phrase

__all__ = ["STRUCTURES", "generate_concepts", "render_concept"]

_BUDGETS = (15, 20, 25, 30, 40, 50, 60, 75, 80, 100, 120, 150, 200)
_BUDGET_FORMS = (
    "stay within a budget of {money}",
    "cost less than {money} to build",
    "be built for under {money}",
    "keep the first release under {money}",
)
#: how people write the same amount (``n`` thousand)
_MONEY_FORMS = (
    "${n}k", "${n}k", "${n},000", "{n},000 USD", "USD {n},000", "{n}k dollars",
    "£{n}k", "£{n},000", "€{n},000", "{n}k euros", "{n} grand",
)  # fmt: skip
_TIMELINES = (
    "launch within {m} months",
    "go live in {w} weeks",
    "be ready for a pilot within {m} months",
    "ship a first version in {w} weeks",
    "launch before the end of Q{q}",
)
_TECH = (
    "use only open-source components",
    "be maintainable by a two-person IT team",
    "run on the organisation's existing AWS account",
    "support English and Spanish",
    "work offline with unreliable connectivity",
    "keep hosting costs under $300 a month",
)
_MODALS = ("can", "should be able to", "need to", "will be able to", "must be able to")


def _budget(rng: random.Random) -> str:
    money = rng.choice(_MONEY_FORMS).replace("{n}", str(rng.choice(_BUDGETS)))
    return rng.choice(_BUDGET_FORMS).replace("{money}", money)


def _pick_constraints(rng: random.Random, dom: dict[str, Any], n_features: int) -> list[str]:
    out: list[str] = []
    if rng.random() < 0.6:
        out.append(_budget(rng))
    if rng.random() < 0.5:
        out.append(rng.choice(_TIMELINES).format(m=rng.randint(3, 12), w=rng.randint(6, 20), q=rng.randint(1, 4)))
    if rng.random() < LAW_SHARE:
        out.append(f"comply with {rng.choice(dom['regulations'])}")
    if rng.random() < 0.4:
        out.append(rng.choice(dom["integrations"] + list(_TECH)))
    if not out:  # no budget, deadline, rule or integration: a technical limit instead
        out.append(rng.choice(_TECH))
    while len(out) > (2 if n_features >= 5 else 3):  # keeps the teacher's document short
        out.pop(rng.randrange(len(out)))
    return out


class _Ctx:
    """What the sentence structures need, built once per concept."""

    def __init__(self, facts: dict[str, Any], rng: random.Random) -> None:
        self.rng = rng
        self.facts = facts
        self.org = facts["organization"] or "us"
        self.product = facts["product"]
        self.prod = article(facts["product"])
        self.plat = platform_phrase(facts["platforms"]) if facts["platforms"] else ""
        self.on = " " + self.plat if self.plat else ""  # `` on iOS and Android`` after a noun, or nothing
        self.actors = join(facts["actors"])
        self.legacy = facts.get("legacy", "email and spreadsheets")
        self.groups = actor_groups(facts)
        self.cons = facts["constraints"]

    def clauses(self) -> str:
        """``patients can book X and view Y, while doctors can write Z``."""
        modal = self.rng.choice(_MODALS)
        parts = [f"{actor} {modal} {join(feats)}" for actor, feats in self.groups]
        if len(parts) == 2:
            return parts[0] + self.rng.choice((", while ", ", and ", "; ")) + parts[1]
        return join(parts)

    def lets(self) -> str:
        """``patients book X and view Y, and lets doctors write Z`` (after ``lets``)."""
        return ", and lets ".join(f"{actor} {join(feats)}" for actor, feats in self.groups)

    def implicit(self) -> str:
        """``patients book X and view Y; doctors write Z`` (actors as subjects, no modal)."""
        parts = [f"{actor} {join(feats)}" for actor, feats in self.groups]
        return self.rng.choice(("; ", ", ", ", and ")).join(parts) if len(parts) == 2 else "; ".join(parts)

    def constraint_sentence(self) -> str:
        """One sentence stating the constraints (nothing when the concept states none)."""
        if not self.cons:
            return ""
        form = self.rng.randrange(5)
        if form == 0:
            return f"It must {join(self.cons)}."
        if form == 1:
            return f"It has to {join(self.cons)}."
        if form == 2:
            noun = "constraint is" if len(self.cons) == 1 else "constraints are"
            return f"The main {noun} that it must {join(self.cons)}."
        if form == 3:
            return f"The project needs to {join(self.cons)}."
        return f"We need it to {join(self.cons)}."


def _must(c: _Ctx, lead: str) -> str:
    """`` {lead} {constraints}`` (``lead`` = ``Must``, ``it must``...), or nothing when the
    concept states no constraint."""
    return f"{lead} {join(c.cons)}" if c.cons else ""


def _s_wants(c: _Ctx) -> str:
    return f"{cap(c.org)} wants {c.prod}{c.on}. {cap(c.clauses())}. {c.constraint_sentence()}"


def _s_where(c: _Ctx) -> str:
    where = f", available {c.plat}," if c.plat else ""
    return f"{cap(c.prod)} for {c.org}{where} where {c.clauses()}. {c.constraint_sentence()}"


def _s_building(c: _Ctx) -> str:
    return f"We are building {c.prod}{c.on} for {c.org} so that {c.clauses()}. {c.constraint_sentence()}"


def _s_today(c: _Ctx) -> str:
    return (
        f"Today {c.actors} at {c.org} rely on {c.legacy}. The idea is {c.prod}{c.on} "
        f"in which {c.clauses()}. {c.constraint_sentence()}"
    )


def _s_brief(c: _Ctx) -> str:
    plats = f" ({join(c.facts['platforms'])})" if c.facts["platforms"] else ""
    must = f" {_must(c, 'Must')}." if c.cons else ""
    return f"{cap(c.product)} for {c.org}{plats}. Users: {c.actors}. Features: {'; '.join(c.facts['features'])}.{must}"


def _s_imagine(c: _Ctx) -> str:
    need = f", and {_must(c, 'it would need to')}" if c.cons else ""
    return f"Imagine {c.prod} where {c.clauses()}. {cap(c.org)} would run it{c.on}{need}."


def _s_question(c: _Ctx) -> str:
    parts = [p for p in (_must(c, "needs to"), f"should be available {c.plat}" if c.plat else "") if p]
    tail = f"It {' and '.join(parts)}." if parts else ""
    return f"Can we build {c.prod} for {c.org}? {cap(c.clauses())}. {tail}"


def _s_looking(c: _Ctx) -> str:
    return (
        f"{cap(c.org)} is looking for {c.prod}{c.on}. The main users are {c.actors}: "
        f"{c.clauses()}. {c.constraint_sentence()}"
    )


def _s_goal(c: _Ctx) -> str:
    return (
        f"We are {c.org}, and our goal is simple: {c.clauses()}. To get there we need "
        f"{c.prod}{c.on}. {c.constraint_sentence()}"
    )


def _s_proposal(c: _Ctx) -> str:
    return f"Proposal: {c.prod}{c.on} for {c.org}. {cap(c.clauses())}. {c.constraint_sentence()}"


def _s_replace(c: _Ctx) -> str:
    return f"Help {c.org} replace {c.legacy} with {c.prod}{c.on}. {cap(c.clauses())}. {c.constraint_sentence()}"


def _s_lets(c: _Ctx) -> str:
    return f"{cap(c.prod)}{c.on} that lets {c.lets()}. It is for {c.org}. {c.constraint_sentence()}"


def _s_oneliner(c: _Ctx) -> str:
    must = f"; {_must(c, 'it must')}" if c.cons else ""
    return f"{cap(c.prod)}{c.on} where {c.implicit()}{must}."


def _s_oneliner_org(c: _Ctx) -> str:
    must = f" {_must(c, 'Must')}." if c.cons else ""
    return f"{cap(c.org)} needs {c.prod}{c.on}: {c.implicit()}.{must}"


def _s_bullets(c: _Ctx) -> str:
    head = c.rng.choice((f"{cap(c.product)} for {c.org}", f"{cap(c.org)} wants {c.prod}. Requirements:"))
    lines = [head]
    for actor, feats in c.groups:
        lines += [f"- {actor} can {feat}" for feat in feats]
    if c.plat:
        lines.append(f"- runs {c.plat}")
    lines += [f"- must {cons}" for cons in c.cons]
    return "\n".join(lines)


def _s_we_need(c: _Ctx) -> str:
    return f"We need {c.prod}{c.on} for {c.org}. {cap(c.implicit())}. {c.constraint_sentence()}"


def _s_build_app(c: _Ctx) -> str:
    run = f" It should run {c.plat}." if c.plat else ""
    return f"Build {c.prod} that lets {c.lets()}.{run} {c.constraint_sentence()}"


def _s_how(c: _Ctx) -> str:
    parts = [p for p in (f"would run {c.plat}" if c.plat else "", _must(c, "has to")) if p]
    tail = f" It {' and '.join(parts)}." if parts else ""
    return f"How would you spec {c.prod} for {c.org}? {cap(c.clauses())}.{tail}"


def _s_at_org(c: _Ctx) -> str:
    return f"At {c.org}, {c.implicit()}. We want to do all of this in {c.prod}{c.on}. {c.constraint_sentence()}"


#: the sentence structures, by name (a concept row's ``structure`` field)
STRUCTURES: dict[str, Callable[[_Ctx], str]] = {
    "wants": _s_wants, "where": _s_where, "building": _s_building, "today": _s_today,
    "brief": _s_brief, "imagine": _s_imagine, "question": _s_question, "looking": _s_looking,
    "goal": _s_goal, "proposal": _s_proposal, "replace": _s_replace, "lets": _s_lets,
    "oneliner": _s_oneliner, "oneliner_org": _s_oneliner_org, "bullets": _s_bullets,
    "we_need": _s_we_need, "build_app": _s_build_app, "how": _s_how, "at_org": _s_at_org,
}  # fmt: skip
#: structures whose text never names the organisation (its fact is null)
NO_ORG = frozenset({"oneliner", "build_app"})
#: one-liners: 3 features and 1 constraint, 15-40 words
SHORT = frozenset({"oneliner", "oneliner_org"})
#: share of concepts written in lower case with one small typo
LOWER_TYPO_RATE = 0.12
#: share of English concepts that name no platform ("a booking app for our salon"), and share
#: that state no budget, deadline, rule or technical limit: people often leave both out, and
#: a teacher that always had them to restate taught the student to invent them
PLATFORM_UNSTATED_SHARE = 0.3
LIMITS_UNSTATED_SHARE = 0.25
#: share of concepts written in Spanish (from the four Spanish vocabularies, see spanish.py)
SPANISH_SHARE = 0.1


def _fit_facts(facts: dict[str, Any], structure: str) -> dict[str, Any]:
    """The facts the ``structure``'s text states, and nothing it leaves out."""
    out = dict(facts)
    if structure in SHORT:
        keep = 3
        out["features"], out["feature_actors"] = facts["features"][:keep], facts["feature_actors"][:keep]
        out["actors"] = list(dict.fromkeys(out["feature_actors"]))
        out["constraints"] = facts["constraints"][:1]
    if structure in NO_ORG:
        out["organization"] = None
    return out


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def lower_with_typo(text: str, rng: random.Random) -> str:
    """``text`` in lower case with two letters of one longer word swapped (as people type)."""
    words = text.lower().split(" ")
    long = [i for i, w in enumerate(words) if w.isalpha() and len(w) >= 6]
    if long:
        i = rng.choice(long)
        words[i] = _typo(words[i], rng)
    return " ".join(words)


def render_concept(facts: dict[str, Any], structure: str, rng: random.Random) -> str:
    """The concept text for ``facts`` in one ``structure`` (see STRUCTURES)."""
    return STRUCTURES[structure](_Ctx(facts, rng)).strip()


def _draw_facts(rng: random.Random, name: str, dom: dict[str, Any]) -> dict[str, Any]:
    product = rng.choice(dom["products"])
    pool = product["features"]
    k = min(len(pool), rng.choice((3, 3, 4, 4, 5)))
    chosen = sorted(rng.sample(pool, k))
    chosen.sort(key=lambda i: dom["features"][i][0])  # group by actor, keep vocabulary order
    feats = [dom["features"][i] for i in chosen]
    feature_actors = [dom["actors"][a] for a, _ in feats]
    facts = {
        "product": product["name"],
        "organization": rng.choice(product.get("orgs") or dom["orgs"]),
        "actors": list(dict.fromkeys(feature_actors)),
        "features": [f for _, f in feats],
        "feature_actors": feature_actors,
        "constraints": _pick_constraints(rng, dom, k),
        "platforms": list(rng.choice(PLATFORM_SETS)),
        "legacy": rng.choice(dom["legacy"]),
    }
    if rng.random() < PLATFORM_UNSTATED_SHARE:
        facts["platforms"] = []
    if rng.random() < LIMITS_UNSTATED_SHARE:
        facts["constraints"] = []
    return facts


def _draw_new(
    rng: random.Random,
    language: str,
    name: str,
    vocab: dict[str, Any],
    spanish: dict[str, Any],
    structures: list[str],
    structures_es: list[str],
    seen_facts: set[tuple],
    seen_text: set[str],
    excluded: frozenset[str] = frozenset(),
) -> tuple[tuple, dict[str, Any], str, str, str] | None:
    """A concept of domain ``name`` whose features and text are new: (key, facts, structure,
    style, text), or None after 200 draws that only repeated earlier ones."""
    for _attempt in range(200):
        if language == "es":
            structure = rng.choice(structures_es)
            facts = draw_facts_es(rng, spanish[name])
        else:
            structure = rng.choice(structures)
            facts = _fit_facts(_draw_facts(rng, name, vocab[name]), structure)
        key = (language, name, frozenset(facts["features"]))
        if key in seen_facts:
            continue
        text = (render_concept_es if language == "es" else render_concept)(facts, structure, rng)
        style = "lower_typo" if rng.random() < LOWER_TYPO_RATE else "plain"
        if style == "lower_typo":
            text = lower_with_typo(text, rng)
        if text in seen_text or text.strip().casefold() in excluded:
            continue
        return key, facts, structure, style, text
    return None


def _focused(
    focus: Mapping[str, Sequence[str]] | None, vocab: dict[str, Any], spanish: dict[str, Any]
) -> tuple[list[str], list[str], list[str], dict[str, Any], float]:
    """English domain names, English and Spanish structures, Spanish vocabularies and the Spanish share
    that ``focus`` (``domains``, ``structures``, ``languages``: each a list, empty or absent
    for no restriction) leaves; UsageError when it names something the generator lacks or
    leaves nothing to draw from."""
    focus = focus or {}
    unknown = [
        f"{key} {v!r}"
        for key, known in (
            ("domain", set(vocab) | set(spanish)),
            ("structure", set(STRUCTURES) | set(STRUCTURES_ES)),
            ("language", ("en", "es")),
        )
        for v in focus.get(key + "s") or ()
        if v not in known
    ]
    if unknown:
        raise UsageError(f"--focus names what the generator does not have: {', '.join(unknown)}")
    doms = set(focus.get("domains") or ()) or set(vocab) | set(spanish)
    names = [d for d in vocab if d in doms]
    wanted = set(focus.get("structures") or ())
    structures = [s for s in STRUCTURES if not wanted & set(STRUCTURES) or s in wanted]
    structures_es = [s for s in STRUCTURES_ES if not wanted & set(STRUCTURES_ES) or s in wanted]
    langs = set(focus.get("languages") or ()) or {"en", "es"}
    es_vocab = {d: v for d, v in spanish.items() if d in doms} if "es" in langs else {}
    if "en" not in langs or not names or not structures:
        names = []
    share = SPANISH_SHARE if names and es_vocab else (1.0 if es_vocab else 0.0)
    if not names and not es_vocab:
        raise UsageError("--focus leaves no domain, structure and language to draw concepts from")
    return names, structures, structures_es, es_vocab, share


#: the dimensions of a focus, each drawn as its own share of the rows
FOCUS_KEYS = ("domains", "structures", "languages")


def focused_concepts(
    n: int,
    seed: int,
    focus: Mapping[str, Sequence[str]],
    *,
    exclude: Iterable[str] = (),
    id_prefix: str = "c",
) -> list[dict[str, Any]]:
    """``n`` concepts for a failure analysis' targets: an equal share of the rows from each
    dimension that has targets (the target domains with any structure and language, the
    target structures in any domain, the target languages), interleaved; no dimension narrows
    another (their intersection, e.g. a Spanish question about one domain, would be one
    narrow kind of concept). No targets at all: :func:`generate_concepts`' usual draw."""
    parts = [{key: list(focus[key])} for key in FOCUS_KEYS if focus.get(key)]
    if not parts:
        return generate_concepts(n, seed, exclude=exclude, id_prefix=id_prefix)
    unknown = sorted(set(focus) - set(FOCUS_KEYS))
    if unknown:
        raise UsageError(f"--focus: unknown target kind(s) {', '.join(unknown)}; expected {', '.join(FOCUS_KEYS)}")
    seen = list(exclude)
    drawn: list[list[dict[str, Any]]] = []
    for k, part in enumerate(parts):
        share = n // len(parts) + (1 if k < n % len(parts) else 0)
        rows = generate_concepts(share, seed + k, focus=part, exclude=seen) if share else []
        seen += [r["concept"] for r in rows]
        drawn.append(rows)
    out: list[dict[str, Any]] = []
    for i in range(max(map(len, drawn))):
        out += [rows[i] for rows in drawn if i < len(rows)]
    for i, row in enumerate(out, start=1):
        row["id"] = f"{id_prefix}{i:04d}"
        row["source"] = f"{row['source']} focus={','.join(k for k in FOCUS_KEYS if focus.get(k))}"
    return out


def generate_concepts(
    n: int,
    seed: int = 42,
    *,
    focus: Mapping[str, Sequence[str]] | None = None,
    exclude: Iterable[str] = (),
    id_prefix: str = "c",
) -> list[dict[str, Any]]:
    """``n`` concept rows (``concept`` schema), deterministic for ``seed``.

    English domains are used round-robin in a shuffled order, so every domain gets about
    ``0.9 n / 15`` concepts. Each row: ``id`` (``c0001``...), ``concept``, ``domain``,
    ``facts`` (product, organization or null, actors, features, feature_actors, constraints,
    platforms, legacy), ``structure``, ``style`` (plain | lower_typo), ``language`` (en | es,
    about :data:`SPANISH_SHARE` Spanish) and ``source``.

    ``focus`` restricts the draw to some ``domains``, ``structures`` and ``languages`` (the
    worst groups of a failure analysis, ``make iterate``); ``exclude`` holds concept texts that
    must not be written again (training and evaluation concepts, compared case-blind);
    ``id_prefix`` starts every id (``r1-c0001``), so targeted rows can join a dataset.

    Raises:
        UsageError: ``n`` is negative or larger than the vocabularies can make unique (exit 2),
            or ``focus`` names what the generator lacks.
    """
    if n < 0:
        raise UsageError(f"--n must be >= 0, got {n}")
    rng = random.Random(seed)
    vocab = domains()
    spanish = domains_es()
    names, structures, structures_es, spanish, spanish_share = _focused(focus, vocab, spanish)
    seen_facts: set[tuple] = set()
    seen_text: set[str] = set()
    excluded = frozenset(t.strip().casefold() for t in exclude)
    rows: list[dict[str, Any]] = []
    order: list[str] = []
    exhausted: set[tuple[str, str]] = set()  # (language, domain) whose facts ran out
    while len(rows) < n:
        language = "es" if rng.random() < spanish_share else "en"
        open_es = sorted(d for d in spanish if ("es", d) not in exhausted)
        open_en = [d for d in names if ("en", d) not in exhausted]
        if not open_es and not open_en:
            raise UsageError(
                f"the vocabularies make at most {len(rows)} unique concepts with seed {seed}; ask for fewer than {n}"
            )
        if language == "es" and not open_es:
            language = "en"
        elif language == "en" and not open_en:
            language = "es"
        if language == "es":
            name = rng.choice(open_es)
        else:
            order = [d for d in order if ("en", d) not in exhausted]
            if not order:
                order = rng.sample(open_en, len(open_en))
            name = order.pop()
        drawn = _draw_new(
            rng, language, name, vocab, spanish, structures, structures_es, seen_facts, seen_text, excluded
        )
        if drawn is None:  # this domain's facts are used up: draw from the others
            exhausted.add((language, name))
            continue
        key, facts, structure, style, text = drawn
        seen_facts.add(key)
        seen_text.add(text)
        rows.append(
            _concept_row(f"{id_prefix}{len(rows) + 1:04d}", text, name, facts, structure, style, language, seed)
        )
    return rows


def _concept_row(
    row_id: str, text: str, domain: str, facts: dict, structure: str, style: str, language: str, seed: int
) -> dict[str, Any]:
    return {
        "id": row_id,
        "concept": text,
        "domain": domain,
        "facts": facts,
        "structure": structure,
        "style": style,
        "language": language,
        "source": f"ba-datagen concepts seed={seed}",
    }
