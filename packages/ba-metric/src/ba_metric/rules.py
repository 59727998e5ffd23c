"""The sub-rules of the rubric, as small pure predicates (see README "Scoring rules")."""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "ID_PREFIXES",
    "PRIORITIES",
    "PRIORITY_LEVELS",
    "category_count_ok",
    "category_ids_ok",
    "category_list_ok",
    "description_ok",
    "has_template_marker",
    "is_placeholder",
    "non_empty",
    "normalise",
    "requirement_ok",
    "title_ok",
    "word_count",
]

ID_PREFIXES = {
    "functional_requirements": "FR",
    "non_functional_requirements": "NFR",
    "constraints": "C",
}
#: the priorities a requirement may have, as written in a document; matched case-blind
PRIORITY_LEVELS = ("High", "Medium", "Low")
PRIORITIES = frozenset(p.lower() for p in PRIORITY_LEVELS)

TITLE_MIN_WORDS, TITLE_MAX_WORDS = 3, 15
DESCRIPTION_MIN_WORDS = 15
REQUIREMENT_MIN_WORDS = 3
MIN_REQUIREMENTS = 2

# A word: letters/digits, optionally joined by an apostrophe or hyphen ("e-commerce", "don't").
# No nested ambiguity, so findall is linear even on hostile input.
_WORD_RE = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
_NORM_RE = re.compile(r"[\W_]+")
_PLACEHOLDER_RE = re.compile(
    r"<[^\W\d_][^<>\n]{0,80}>"  # <project name>
    r"|\{\{|\}\}"  # {{title}}
    r"|\[[ \t]*(?:insert|your|todo|tbd|placeholder|name|title|description)\b[^\]\n]{0,80}\]"
    r"|\b(?:tbd|tba|todo|fixme|lorem ipsum|placeholder|xxx+)\b",
    re.I,
)
# Cheap pre-filter: the regex can only match when one of these occurs (lower-cased text).
_PLACEHOLDER_HINTS = ("<", "{{", "}}", "[", "tbd", "tba", "todo", "fixme", "lorem", "placeholder", "xxx")
GENERIC_TITLES = frozenset(
    {
        "title", "untitled", "project title", "document title", "your title here",
        "title here", "requirements", "requirements document", "business requirements",
        "business requirements document", "software requirements specification",
        "requirements specification", "project", "my project", "new project", "project name",
        "app name", "example", "sample", "sample title", "test", "n a", "none", "null",
    }
)  # fmt: skip
_ID_CACHE: dict[str, tuple[str, ...]] = {
    prefix: tuple(f"{prefix}{i:03d}" for i in range(1, 1000)) for prefix in ID_PREFIXES.values()
}


def word_count(text: str) -> int:
    return len(_WORD_RE.findall(text))


def normalise(text: str) -> str:
    """Lower case, every run of non-alphanumerics collapsed to one space, stripped."""
    return _NORM_RE.sub(" ", text.lower()).strip()


def non_empty(value: Any) -> bool:
    """Present and non-empty: not None, not a blank string, not an empty list/mapping."""
    if value is None:
        return False
    if isinstance(value, (str, bytes)):
        return bool(value.strip())
    if isinstance(value, (list, dict)):
        return bool(value)
    return True


def has_template_marker(text: str) -> bool:
    """Ends with an ellipsis, or holds ``<...>``, ``{{``/``}}``, ``[insert ...]``-style
    brackets, or the words TBD/TBA/TODO/FIXME/placeholder/lorem ipsum/xxx."""
    stripped = text.rstrip()
    if stripped.endswith(("...", "\u2026")):
        return True
    lowered = stripped.lower()
    for hint in _PLACEHOLDER_HINTS:
        if hint in lowered:
            return _PLACEHOLDER_RE.search(stripped) is not None
    return False


def is_placeholder(text: str) -> bool:
    """A template marker (see ``has_template_marker``) or a generic title such as
    "Project title" or "Requirements document" (``GENERIC_TITLES``, compared normalised)."""
    return has_template_marker(text) or normalise(text) in GENERIC_TITLES


def title_ok(title: Any) -> bool:
    """A string of 3-15 words that is not a placeholder."""
    return (
        isinstance(title, str) and TITLE_MIN_WORDS <= word_count(title) <= TITLE_MAX_WORDS and not is_placeholder(title)
    )


def description_ok(description: Any, title: Any) -> bool:
    """A string of at least 15 words, not a placeholder, and not a copy of a passing title."""
    if not isinstance(description, str) or word_count(description) < DESCRIPTION_MIN_WORDS:
        return False
    if is_placeholder(description):
        return False
    # A duplicated title/description pair is charged once: on the description, and only when
    # the title itself passes (keeps the score monotone, see README).
    return not (title_ok(title) and normalise(description) == normalise(title))


def requirement_ok(item: Any) -> bool:
    """A mapping with a non-blank string id, a description of >= 3 words without a template
    marker, and priority High/Medium/Low (case-insensitive, surrounding blanks ignored)."""
    if not isinstance(item, dict):
        return False
    rid, description, priority = item.get("id"), item.get("description"), item.get("priority")
    return (
        isinstance(rid, str)
        and bool(rid.strip())
        and isinstance(priority, str)
        and priority.strip().lower() in PRIORITIES
        and isinstance(description, str)
        and word_count(description) >= REQUIREMENT_MIN_WORDS
        and not has_template_marker(description)
    )


def category_list_ok(value: Any, valid: list[bool]) -> bool:
    """A non-empty list whose every element is a valid requirement mapping."""
    return isinstance(value, list) and bool(value) and all(valid)


def category_count_ok(value: Any, valid: list[bool]) -> bool:
    """At least two valid requirements whose descriptions differ (ignoring case and runs of
    white space)."""
    if not isinstance(value, list):
        return False
    seen = set()
    for item, ok in zip(value, valid):
        if ok:
            seen.add(" ".join(item["description"].lower().split()))
            if len(seen) >= MIN_REQUIREMENTS:
                return True
    return False


def category_ids_ok(value: Any, prefix: str) -> bool:
    """Every element is a mapping whose id is PREFIX001, PREFIX002, ... in list order."""
    if not isinstance(value, list) or not value or len(value) > 999:
        return False
    expected = _ID_CACHE[prefix]
    for i, item in enumerate(value):
        if not isinstance(item, dict) or item.get("id") != expected[i]:
            return False
    return True
