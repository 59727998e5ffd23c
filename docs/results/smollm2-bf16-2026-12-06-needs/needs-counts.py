"""Counts for the needs lever (stop 53), per scored predictions file (ba-metric score output):
dropped budgets and deadlines, NFRs that state the concept's own scale, languages or offline
need, the template TLS/AES and 95 %/2 s lines, documents with a budget, duration or date the concept
never gives (ba-metric's unsupported_number) and documents naming a language the concept never names. Usage: needs-counts.py SCORED.jsonl ..."""
import json
import re
import sys

import yaml

#: curated concepts stating a scale: the numbers a scale NFR would carry
SCALE = {
    "cur-02": ["400"], "cur-04": ["6,000", "6000"], "cur-06": ["45"], "cur-08": ["12"], "cur-09": ["30"],
    "cur-11": ["80"], "cur-13": ["4,000", "4000"], "cur-15": ["12"], "cur-19": ["350", "20"], "cur-23": ["120", "3"],
    "cur-25": ["2,000", "2000"], "cur-26": ["600"], "cur-32": ["80"], "cur-33": ["300"], "cur-34": ["450"],
    "cur-40": ["40"], "cur-41": ["30"], "cur-42": ["120", "15"],
}
#: curated concepts naming languages: words a languages NFR (or constraint) would name
LANGS = {"cur-03": ["swahili"], "cur-08": ["spanish", "tagalog"], "cur-21": ["french", "german"],
         "cur-42": ["french", "dutch"], "cur-04": ["language"]}
#: curated concepts with an offline need
OFFLINE = {"cur-09", "cur-10", "cur-18", "cur-21"}
#: language names a document may invent (counted when the concept never names it)
_LANGUAGES = ("english", "spanish", "french", "german", "dutch", "welsh", "polish", "arabic", "portuguese",
              "italian", "swahili", "tagalog")


def nfrs(text):
    try:
        doc = yaml.safe_load(text)
        items = doc.get("non_functional_requirements") or []
        return [str(i.get("description", "")) for i in items if isinstance(i, dict)]
    except Exception:
        return []


def main(path):
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    c = dict(docs=len(rows), budget_dropped=0, deadline_dropped=0, scale_nfr=0, lang_named=0, offline_nfr=0,
             tls=0, perf_95_2s=0, unsupported_number=0, invented_language=0,
             serve_nfr=0, serve_nfr_invented=0)
    for r in rows:
        d = r.get("defects") or []
        c["budget_dropped"] += "dropped_limit:budget" in d
        c["deadline_dropped"] += "dropped_limit:deadline" in d
        n = nfrs(r["text"])
        joined = " ".join(n)
        low = joined.lower()
        if r["id"] in SCALE:
            c["scale_nfr"] += any(re.search(rf"(?<![\d,.]){re.escape(x)}(?![\d,])(?!\s*(?:%|days?|minutes?|seconds?|hours?|weeks?|months?|years?|mb|ms)\b)", joined) for x in SCALE[r["id"]])
        if r["id"] in LANGS:
            c["lang_named"] += all(w in r["text"].lower() for w in LANGS[r["id"]])
        if r["id"] in OFFLINE:
            c["offline_nfr"] += bool(re.search(r"offline|without (?:a )?connect|no signal|sync", low))
        c["tls"] += "tls" in low or "aes-256" in low
        served = re.findall(r"\bserve (?:\S+ ){0,3}?(?<![\d,])(\d[\d,]*)(?![\d,]|\s?%)", low)
        c["serve_nfr"] += bool(served)
        c["serve_nfr_invented"] += any(x.rstrip(",") not in r["concept"] for x in served)
        c["unsupported_number"] += any(x.startswith("unsupported_number") for x in d)
        said = r["concept"].lower()
        c["invented_language"] += any(w in r["text"].lower() and w not in said for w in _LANGUAGES)
        c["perf_95_2s"] += bool(re.search(r"respond to 95\s?% of (?:all )?requests", low))
    c["scale_of"] = len(SCALE)
    c["langs_of"] = len(LANGS)
    c["offline_of"] = len(OFFLINE)
    return c


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(p, json.dumps(main(p)))
