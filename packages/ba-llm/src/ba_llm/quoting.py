"""The last tidy-up of a finished answer: a ``title:`` or ``description:`` value that holds
``": "`` (or ends with ``":"``) is put in double quotes, so the document loads.

A plain YAML scalar cannot hold ``": "``: ``title: Parish bookings: the parish's system``
makes the whole document fail to load (``mapping values are not allowed here``), and the
reader, or the tool they feed it to, gets nothing. Small models write such values now and
then (a title with a subtitle, "available on two platforms: iOS and Android"): 25 of the 483
fine-tuned answers stored under ``docs/results`` on 2026-12-05 failed to load for this reason
alone. The words stay as the model wrote them; only the quoting is added.

* A line whose key is ``title`` or ``description`` (alone, or after a list marker ``- ``),
  whose value is plain (it does not start with a quote, a block-scalar ``|`` / ``>``, a
  flow ``[`` / ``{``, an anchor, alias or tag) and holds ``": "`` or ends with ``":"``, gets
  the value as a JSON string, which is a YAML double-quoted scalar (``"`` and ``\\`` escaped).
* A value that continues on the next lines (a more indented line that is not a key or a
  list item) is left as it is: quoting its first line alone would change its meaning.
* An answer without such a line is returned unchanged, byte for byte; the line numbers
  quoted (1-based) are returned, and a prediction row lists them (``quoted``), so the model's
  own answer can be rebuilt (``json.loads`` of the quoted value).
"""

from __future__ import annotations

import json
import re

__all__ = ["quote_colon_values"]

_VALUE = re.compile(
    r"^(?P<head>(?P<indent>[ \t]*)(?:-[ \t]+)?(?P<key>title|description)[ \t]*:[ \t]+)"
    r"(?P<value>[^\s\"'|>\[{&*!%@`#].*?)(?P<tail>[ \t]*\r?)$",
    re.IGNORECASE,
)
#: a line that starts a key or a list item (so it does not continue the value above it)
_STARTS_ENTRY = re.compile(r"^[ \t]*(?:-(?:[ \t]|$)|[^\s:#][^:#]*:(?:[ \t]|$))")


def _continues(lines: list[str], n: int, column: int) -> bool:
    """Whether line ``n`` continues the plain value of a key at ``column``."""
    if n >= len(lines) or not lines[n].strip():
        return False
    indent = len(lines[n]) - len(lines[n].lstrip())
    return indent > column and _STARTS_ENTRY.match(lines[n]) is None


def quote_colon_values(text: str) -> tuple[str, list[int]]:
    """``text`` with every ``title:`` / ``description:`` value that holds ``": "`` (or ends
    with ``":"``) double-quoted, and the 1-based numbers of the lines changed (see the module
    rule)."""
    lines = text.split("\n")
    quoted: list[int] = []
    for n, line in enumerate(lines):
        m = _VALUE.match(line)
        if m is None:
            continue
        value = m["value"]
        if ": " not in value and not value.endswith(":"):
            continue
        if _continues(lines, n + 1, m.start("key")):
            continue
        lines[n] = m["head"] + json.dumps(value, ensure_ascii=False) + m["tail"]
        quoted.append(n + 1)
    if not quoted:
        return text, []
    return "\n".join(lines), quoted
