"""Prototype (stop 60): a functional requirement that gives a capability of the concept to
another actor than the concept does ("allow patients to see whether patients completed them"
for "Therapists share exercise plans ... and see whether patients completed them")."""
import re
from ba_metric.content import _SEGMENT_RE, _TOKEN_RE, _DROP
from ba_metric.grounding import fold, word_key, GENERIC_WORDS, STOPWORDS
from ba_metric.lexicon import PEOPLE

_SPLIT = re.compile("(" + _SEGMENT_RE.pattern + ")")
_JOINS = re.compile(r"^(?:,\s|\s(?:and|or|plus|then)\s)$")
_LEAD = frozenset("and or plus then the a an our their its his her".split())
#: words between a subject and its verb ("members will be able to book", "staff can also swap")
_AUX = frozenset("""will would shall should must can could may might need needs needed want wants wanted
have has be able to also just then easily quickly directly usually often always""".split())
#: right before a verb these make it a passive or a copula ("are notified", "is released")
_PASSIVE = frozenset("be been being is are was were get gets got".split())
_FR_ACTOR = re.compile(
    r"\b(?:allow|allows|enable|enables|permit|permits)\s+(?:the\s+|a\s+|an\s+|their\s+|its\s+)?"
    r"(?P<a>[^\W\d_]+(?:\s[^\W\d_]+){0,2}?)\s+to\s+(?P<rest>.+)"
    r"|^(?:the\s+|a\s+|an\s+)?(?P<b>[^\W\d_]+(?:\s[^\W\d_]+){0,2}?)\s+(?:shall|must|should|will|can)\s+be\s+able\s+to\s+(?P<rest2>.+)"
)
_GENERIC = frozenset(GENERIC_WORDS | {"anyone", "everyone", "public", "they", "them", "system", "app", "people", "person"})
_NOT_VERBS = frozenset(map(word_key, "be have get use make do manage".split()))


def _singular(w):
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w


ACTORS = frozenset(map(_singular, PEOPLE)) - frozenset(map(_singular, _GENERIC))


def fr_actor(description):
    """(actor head, actor words, capability keys in order) of an English FR, or None."""
    t = " ".join(_TOKEN_RE.findall(fold(description)))
    m = _FR_ACTOR.search(t)
    if not m:
        return None
    actor = (m["a"] or m["b"]).split()
    rest = m["rest"] or m["rest2"]
    keys = [word_key(w) for w in rest.split() if len(w) > 2 and not w.isdigit() and w not in _DROP]
    return _singular(actor[-1]), frozenset(map(_singular, actor)), keys


def _segments(concept):
    """[(words, separator before it)] of the folded concept."""
    parts = _SPLIT.split(fold(concept))
    out, sep = [], None
    for i in range(0, len(parts), 2):
        words = _TOKEN_RE.findall(parts[i] or "")
        while words and words[0] in _LEAD:
            words = words[1:]
        out.append((words, sep))
        sep = parts[i + 1] if i + 1 < len(parts) else None
    return out


def _doer(words, pos, actors):
    """The actor right before the verb at ``pos`` (auxiliaries skipped), or None."""
    if pos > 0 and words[pos - 1] in _PASSIVE:
        return None
    j = pos - 1
    while j >= 0 and words[j] in _AUX:
        j -= 1
    if j >= 0 and _singular(words[j]) in actors:
        return _singular(words[j])
    return None


def _segment_subject(words, actors):
    """A segment's subject: its first actor followed by an auxiliary ("travellers should be
    able to see", "property managers will be able to screen tenant applications"), else its last
    actor followed by a word that is neither a stopword nor an actor ("therapists share",
    "lets tenants pay")."""
    strong, weak = None, None
    for p, w in enumerate(words):
        if _singular(w) in actors:
            q = p + 1
            while q < len(words) and words[q] in _AUX:
                q += 1
            if q < len(words) and words[q] not in STOPWORDS and _singular(words[q]) not in actors and words[q] not in _PASSIVE:
                if q > p + 1 and strong is None:
                    strong = _singular(w)
                weak = _singular(w)
    return strong or weak


def _subject(segs, index, pos, actors):
    words, sep = segs[index]
    doer = _doer(words, pos, actors)
    if doer:
        found = {doer}
        k = index - 1  # "patients and therapists can message": the bare actors joined before it
        while k >= 0 and segs[k + 1][1] and _JOINS.match(segs[k + 1][1]) and segs[k][0] and all(_singular(x) in actors for x in segs[k][0]):
            found |= {_singular(x) for x in segs[k][0]}
            k -= 1
        return frozenset(found)
    if pos == 0 and sep and _JOINS.match(sep) and index > 0:
        inherited = _segment_subject(segs[index - 1][0], actors)
        return frozenset({inherited}) if inherited else None
    return None


CHECKED = [0]
#: (FR id, text) of every FR checked by the last calls (instrumentation for the blind sample)
CHECKED_IDS: list = []


def wrong_actors(doc, concept):
    frs = [x for x in (doc.get("functional_requirements") or []) if isinstance(x, dict) and isinstance(x.get("description"), str)]
    parsed = [(x.get("id"), x["description"], fr_actor(x["description"])) for x in frs]
    actors = ACTORS | frozenset(p[2][0] for p in parsed if p[2] and p[2][0] not in _GENERIC)
    segs = _segments(concept)
    out = []
    for rid, text, p in parsed:
        if not p:
            continue
        head, actor_words, keys = p
        if head in _GENERIC or not keys or keys[0] in _NOT_VERBS:
            continue
        verb = keys[0]
        hits = [(i, pos) for i, (words, _) in enumerate(segs) for pos, w in enumerate(words) if word_key(w) == verb]
        if len(hits) != 1:
            continue
        i, pos = hits[0]
        if not set(keys[1:]) & {word_key(w) for w in segs[i][0][pos + 1 :]}:
            continue  # only the verb shared: another capability
        subject = _subject(segs, i, pos, actors)
        if not subject:
            continue
        CHECKED[0] += 1
        CHECKED_IDS.append((rid, text))
        if head in subject or actor_words & subject:
            continue
        out.append((rid, text, sorted(subject), " ".join(segs[i][0])))
    return out
