"""Prototype of the dropped-rule check (stop 60), outside the package."""
import json, sys
from ba_metric.content import _SEGMENT_RE, _TOKEN_RE, _Item, _items, _DROP, _NONFEATURE_WORDS, _keys
from ba_metric.grounding import fold, GENERIC_WORDS, word_key
from ba_metric.facts import facts
RULE_WORDS = frozenset("""comply complies complying compliance compliant law laws legislation regulation regulations
regulator regulators regulatory cumplir cumpla cumplan cumplimiento ley leyes normativa normativas reglamento""".split())
RULE_CODES = frozenset("""fda cfr pci dss iso iec soc owasp ada fips osha wcag nist sox ferpa coppa ccpa cpra hipaa gdpr rgpd
lopd lopdgdd eidas psd2 ens""".split())
NOT_A_RULE_AFTER = frozenset("""firm firms practice practices office offices school schools student students
enforcement officer officers team teams department departments clerk clerks""".split())
from ba_metric.lexicon import PEOPLE
def _legal(it):
    words = it.padded.split()
    return any(w in RULE_WORDS and (i + 1 == len(words) or (words[i + 1] not in NOT_A_RULE_AFTER and words[i + 1] not in PEOPLE)) for i, w in enumerate(words))
_NOT_RULE_KEYS = frozenset(map(word_key, RULE_WORDS | GENERIC_WORDS | _NONFEATURE_WORDS))

def rules(concept):
    folded = fold(concept)
    segs = []
    for raw in _SEGMENT_RE.split(folded):
        if not raw or not _TOKEN_RE.search(raw):
            continue
        it = _Item("", "", raw)
        laws = {f for f in facts(it.folded, it.tokens) if f[0] == "law"}
        codes = it.tokens & RULE_CODES
        segs.append((raw.strip(), it, laws, codes, bool(laws or codes or _legal(it))))
    other = frozenset().union(*(s[1].keys for s in segs if not s[4])) if segs else frozenset()
    out = []
    for raw, it, laws, codes, is_rule in segs:
        if is_rule:
            out.append((raw, laws, codes, it.keys - _NOT_RULE_KEYS - other))
    return out

AMENDED = False

def dropped(doc, concept):
    items, _ = _items(doc)
    units = [_Item(k, k, doc[k]) for k in ("title", "description") if isinstance(doc.get(k), str)] + items
    res = []
    for raw, laws, codes, keys in rules(concept):
        if laws or codes:
            ok = any((laws & facts(u.folded, u.tokens)) or (codes & u.tokens) for u in units)
        elif keys and AMENDED:
            # amendment 1: one shared key keeps the rule only in a unit that also uses a legal word
            need = 1 if len(keys) == 1 else 2
            ok = any(len(keys & u.keys) >= need or (keys & u.keys and _legal(u)) for u in units)
        elif keys:
            need = 1 if len(keys) <= 4 else 2
            ok = any(len(keys & u.keys) >= need for u in units)
        else:
            ok = any(u.tokens & RULE_WORDS for u in units)
        res.append((raw, sorted(laws), sorted(codes), sorted(keys), ok))
    return res

from ba_metric.parse import document_from_fields, parse
def doc_of(record):
    if "text" in record:
        return parse(record["text"])
    return document_from_fields(record)
