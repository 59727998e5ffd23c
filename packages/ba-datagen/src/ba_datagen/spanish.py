"""Spanish concepts and their documents: a Spanish concept gets a Spanish document.

Users write concepts in Spanish (the curated set has seven) and expect the document in the
language they wrote in; the metric's grounding reads Spanish (accents folded, Spanish
stopwords, shared word keys), so a Spanish document is what both the teacher and the metric
count as grounded. Facts come from ``data/domains_es.json`` (four domains, plural actors
with their article, products with their article and gender) and follow the English
generator's rules: every fact is in the text, nothing the text omits is in the facts, and
every choice the teacher makes is a function of the facts.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from .vocab import LAW_SHARE, PLATFORM_SETS, actor_groups, cap, domain_nfr, join, numbered

__all__ = ["STRUCTURES_ES", "domains_es", "draw_facts_es", "render_concept_es", "write_document_es"]

_BUDGETS = (12, 15, 20, 25, 30, 40, 50, 60, 80)
_MONEY = ("{n}.000 €", "{n}.000 euros", "{n} mil euros", "{n}k €")
_BUDGET_FORMS = (
    "costar menos de {money}",
    "ajustarse a un presupuesto de {money}",
    "tener un presupuesto máximo de {money}",
)
_TIMELINES = ("estar en marcha en {m} meses", "lanzarse en {w} semanas")
_TECH = (
    "usar solo componentes de código abierto",
    "funcionar sin conexión en zonas con mala cobertura",
    "estar en español y en inglés",
)
_MODALS = ("podrán", "deben poder", "tienen que poder", "pueden")
_PLATFORM_WORDS = {"web": "la web", "Windows": "ordenadores Windows", "iOS": "iOS", "Android": "Android"}


@lru_cache(maxsize=1)
def domains_es() -> dict[str, dict[str, Any]]:
    """The Spanish vocabularies, keyed by (English) domain name."""
    text = resources.files("ba_datagen").joinpath("data/domains_es.json").read_text(encoding="utf-8")
    return dict(sorted(json.loads(text).items()))


def y(items: list[str]) -> str:
    """``a``, ``a y b``, ``a, b y c``."""
    return join(items, "y")


def platforms_es(platforms: list[str]) -> str:
    """``en iOS y Android``, ``en la web``."""
    return "en " + y([_PLATFORM_WORDS.get(p, p) for p in platforms])


def _de(definite: str) -> str:
    return "del" if definite == "el" else f"de {definite}"


def draw_facts_es(rng: random.Random, dom: dict[str, Any]) -> dict[str, Any]:
    """Facts for one Spanish concept (the English generator's keys, plus article forms)."""
    product = rng.choice(dom["products"])
    k = min(len(product["features"]), rng.choice((3, 3, 4)))
    chosen = sorted(rng.sample(product["features"], k), key=lambda i: (dom["features"][i][0], i))
    feats = [dom["features"][i] for i in chosen]
    feature_actors = [dom["actors"][a] for a, _ in feats]
    cons: list[str] = []
    if rng.random() < 0.6:
        money = rng.choice(_MONEY).replace("{n}", str(rng.choice(_BUDGETS)))
        cons.append(rng.choice(_BUDGET_FORMS).replace("{money}", money))
    if rng.random() < 0.5:
        cons.append(rng.choice(_TIMELINES).format(m=rng.randint(3, 12), w=rng.randint(6, 20)))
    if rng.random() < LAW_SHARE:
        cons.append(f"cumplir el {rng.choice(dom['regulations'])}")
    if rng.random() < 0.3 or not cons:
        cons.append(rng.choice(dom["integrations"] + list(_TECH)))
    return {
        "product": product["name"],
        "product_article": product["art"],
        "product_definite": product["def"],
        "organization": rng.choice(dom["orgs"]),
        "actors": list(dict.fromkeys(feature_actors)),
        "features": [f for _, f in feats],
        "feature_actors": feature_actors,
        "constraints": cons[:3],
        "platforms": list(rng.choice(PLATFORM_SETS)),
        "language": "es",
    }


class _Ctx:
    def __init__(self, facts: dict[str, Any], rng: random.Random) -> None:
        self.f, self.rng = facts, rng
        self.prod = f"{facts['product_article']} {facts['product']}"
        self.plat = platforms_es(facts["platforms"])
        self.org = facts["organization"]
        self.cons = y(facts["constraints"])
        self.groups = actor_groups(facts)

    def clauses(self) -> str:
        modal = self.rng.choice(_MODALS)
        return y([f"{actor} {modal} {y(feats)}" for actor, feats in self.groups])


def _s_queremos(c: _Ctx) -> str:
    return f"Queremos {c.prod} {c.plat} para {c.org}: {c.clauses()}. Tiene que {c.cons}."


def _s_necesita(c: _Ctx) -> str:
    return f"{cap(c.org)} necesita {c.prod} {c.plat}. {cap(c.clauses())}. Debe {c.cons}."


def _s_pregunta(c: _Ctx) -> str:
    return f"¿Podemos hacer {c.prod} para {c.org}? {cap(c.clauses())}. Debe funcionar {c.plat} y {c.cons}."


def _s_lista(c: _Ctx) -> str:
    lines = [f"{cap(c.f['product'])} para {c.org}"]
    for actor, feats in c.groups:
        lines += [f"- {actor} pueden {feat}" for feat in feats]
    lines.append(f"- funciona {c.plat}")
    lines += [f"- debe {x}" for x in c.f["constraints"]]
    return "\n".join(lines)


def _s_idea(c: _Ctx) -> str:
    return (
        f"La idea es {c.prod} para {c.org}, disponible {c.plat}, en la que {c.clauses()}. "
        f"El proyecto tiene que {c.cons}."
    )


STRUCTURES_ES: dict[str, Callable[[_Ctx], str]] = {
    "es_queremos": _s_queremos, "es_necesita": _s_necesita, "es_pregunta": _s_pregunta,
    "es_lista": _s_lista, "es_idea": _s_idea,
}  # fmt: skip


def render_concept_es(facts: dict[str, Any], structure: str, rng: random.Random) -> str:
    """The Spanish concept text for ``facts`` in one of STRUCTURES_ES."""
    return STRUCTURES_ES[structure](_Ctx(facts, rng))


# ---------------------------------------------------------------------------- teacher

_REGULATION_NFR = {
    "RGPD": "{P} permitirá a {actor} exportar o borrar sus datos personales en un plazo de 30 días desde "
    "su solicitud, como exige el RGPD.",
}
_GENERIC_REGULATION_NFR = (
    "{P} guardará un registro de cada cambio en los datos personales y superará una "
    "revisión de cumplimiento del {reg} antes del lanzamiento."
)


def _names(f: Mapping[str, Any]) -> tuple[str, str, str]:
    """(``la app de citas``, ``de la app de citas``, ``La app de citas``)."""
    definite = f.get("product_definite") or "el"
    p = f"{definite} {f['product']}"
    return p, f"{_de(definite)} {f['product']}", cap(p)


def _nfrs(f: dict[str, Any], dom: Mapping[str, Any] | None, n_functional: int) -> list[dict[str, str]]:
    p, de_p, P = _names(f)
    out: list[tuple[str, str]] = []
    regs = [c[len("cumplir el ") :] for c in f["constraints"] if c.startswith("cumplir el ")]
    if regs:
        text = _REGULATION_NFR.get(regs[0], _GENERIC_REGULATION_NFR)
        out.append((text.format(P=P, reg=regs[0], actor=f["feature_actors"][0]), "High"))
    own = domain_nfr(f["features"], dom) if dom is not None else None
    if own is not None:
        out.append((own.format(product=p, Product=P), "High"))
    out.append(
        (f"Todos los datos {de_p} se cifrarán en tránsito con TLS 1.2 o superior y en reposo con AES-256.", "High")
    )
    out.append((f"{P} responderá al 95% de las peticiones en menos de 2 segundos.", "Medium"))
    mobile = [x for x in f["platforms"] if x in ("iOS", "Android")]
    if mobile:
        out.append((f"{P} funcionará en las dos últimas versiones principales de {y(mobile)}.", "Medium"))
    if "web" in f["platforms"]:
        out.append((f"{P} cumplirá las pautas de accesibilidad WCAG 2.1 AA.", "Low"))
    out.append(
        (f"{P} estará disponible el 99,5% del tiempo cada mes, sin contar el mantenimiento planificado.", "Medium")
    )
    want = 4 if n_functional <= 3 else 3
    return [{"description": t, "priority": pr} for t, pr in out[:want]]


def _constraints(f: dict[str, Any]) -> list[dict[str, str]]:
    _, _, P = _names(f)
    items = []
    for c in f["constraints"]:
        if c.startswith(("costar", "ajustarse a un presupuesto", "tener un presupuesto")):
            items.append({"description": f"El proyecto deberá {c}.", "priority": "High"})
        elif c.startswith("cumplir"):
            items.append({"description": f"{P} deberá {c}.", "priority": "High"})
        elif c.startswith(("estar en marcha", "lanzarse")):
            items.append({"description": f"El proyecto deberá {c}.", "priority": "Medium"})
        else:
            items.append({"description": f"{P} deberá {c}.", "priority": "Medium"})
    if f["platforms"]:
        items.append({"description": f"{P} deberá funcionar {platforms_es(f['platforms'])}.", "priority": "Medium"})
    return items


def write_document_es(f: dict[str, Any], dom: Mapping[str, Any] | None) -> dict[str, Any]:
    """The template teacher's Spanish document for checked facts ``f`` (see template.py)."""
    (first, feats), *others = actor_groups(f)
    art = f.get("product_article") or "un"
    who = f" para {f['organization']}" if f.get("organization") else ""
    where = f", disponible {platforms_es(f['platforms'])}," if f["platforms"] else ""
    description = f"{cap(art)} {f['product']}{who}{where} que permite a {first} {y(feats[:2])}"
    if others:
        description += f", con herramientas para {y([a for a, _ in others])}"
    description += "."
    if len(description.split()) < 15:
        description += f" Cubre {len(f['features'])} tareas: {y(f['features'])}."
    title = (
        f"{cap(f['product'])} para {f['organization']}"
        if f.get("organization")
        else f"{cap(f['product'])} para {y(f['actors'])}"
    )
    functional = [
        {"description": f"El sistema permitirá a {actor} {feature}.", "priority": "High" if i < 2 else "Medium"}
        for i, (actor, feature) in enumerate(zip(f["feature_actors"], f["features"]))
    ]
    return {
        "title": title,
        "description": description,
        "functional_requirements": numbered(functional, "FR"),
        "non_functional_requirements": numbered(_nfrs(f, dom, len(functional)), "NFR"),
        "constraints": numbered(_constraints(f), "C"),
    }
