"""Grounding: share of title/description/requirements that use a concept word."""

from __future__ import annotations

import pytest

from ba_metric import grounding, render, score
from ba_metric.grounding import concept_words, stem

GARDEN = "A mobile app for community garden members to reserve plots for the season."
PAYROLL = "Payroll software for freelance accountants to track invoices and quarterly taxes."


def test_concept_words_drop_stopwords_generic_words_and_short_tokens():
    assert concept_words(GARDEN) == {"commun", "garden", "member", "reserv", "plot", "season"}
    assert concept_words("An app for the users") == frozenset()


@pytest.mark.parametrize(
    ("words", "key"),
    [
        (("reserve", "reservation", "reserving", "reservas", "reservar"), "reserv"),
        (("cobro", "cobros", "cobre"), "cobr"),
        (("pista", "pistas"), "pist"),
        (("gestion", "gestionar"), "gestio"),
        (("plot", "plots"), "plot"),
    ],
)
def test_word_key_meets_inflections_in_english_and_spanish(words, key):
    from ba_metric.grounding import word_key

    assert {word_key(w) for w in words} == {key}


def test_spanish_concept_grounds_a_spanish_document():
    concept = "Una app para que los socios del club reserven pistas de pádel y paguen con Bizum."
    assert grounding("title: Reserva de pistas para los socios\ndescription: Los socios pagan.", concept) == 1.0
    assert grounding("title: Gestión de nóminas de la empresa\ndescription: Nóminas y más.", concept) == 0.0


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("plots", "plot"), ("stories", "story"), ("classes", "class"), ("status", "status"),
        ("analysis", "analysis"), ("reserving", "reserv"), ("reserved", "reserv"),
        ("reserve", "reserv"), ("planning", "plan"), ("booking", "book"), ("taxes", "tax"),
        ("bus", "bus"), ("ai", "ai"), ("used", "used"), ("filled", "fill"),
    ],
)  # fmt: skip
def test_stem(word, expected):
    assert stem(word) == expected


def test_fixed_document_is_grounded_only_in_its_own_concept(perfect):
    own, other = score(perfect, GARDEN).grounding, score(perfect, PAYROLL).grounding
    assert own == 0.75  # 6 of 8 units: title, description, FR001, FR002, NFR001, NFR002
    assert other == 0.0
    assert score(perfect, GARDEN).total == score(perfect, PAYROLL).total == 1.0  # beside the total


def test_units_and_counting():
    doc = {
        "title": "Plot booking",  # grounded (plot)
        "description": "Nothing relevant here.",  # not
        "functional_requirements": [
            {"id": "FR001", "description": "Reserving a plot works.", "priority": "High"},  # grounded
            {"id": "FR002", "description": "Logins are audited.", "priority": "High"},  # not
            "Gardens are nice.",  # not a mapping: not a unit
        ],
        "constraints": "Season reservations only.",  # not a list: not a unit
    }
    assert grounding(doc, GARDEN) == 0.5


def test_none_without_concept_or_concept_words(perfect):
    assert score(perfect).grounding is None
    assert grounding(perfect, None) is None
    assert grounding(perfect, "") is None
    assert grounding(perfect, "an app for the users") is None


def test_unparseable_document_has_zero_grounding():
    assert grounding("not a document", GARDEN) == 0.0
    assert score("not a document", GARDEN).grounding == 0.0


def test_grounding_accepts_text_and_bytes(perfect):
    assert grounding(render(perfect), GARDEN) == grounding(render(perfect).encode(), GARDEN) == 0.75
