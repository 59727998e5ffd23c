"""The last tidy-up of a finished answer: when it does not load as YAML because a ``title:``
or ``description:`` value holds ``": "`` (or ends with ``":"``), that value is put in double
quotes, so the document loads.

A plain YAML scalar cannot hold ``": "``: ``title: Parish bookings: the parish's system``
makes the whole document fail to load (``mapping values are not allowed here``), and the
reader, or the tool they feed it to, gets nothing. Small models write such values now and
then (a title with a subtitle, "available on two platforms: iOS and Android"): 24 of the 483
fine-tuned answers stored under ``docs/results`` on 2026-12-05 failed to load for this reason
alone. The words stay as the model wrote them; only the quoting is added.

* An answer that loads (``yaml.safe_load``) is returned unchanged, byte for byte, whatever
  it holds: a ``#`` comment, a block scalar, a quoted value over several lines.
* In one that does not, every line whose key is ``title`` or ``description`` (alone, or
  after a list marker ``- ``) and whose value is plain (it does not start with a quote, a
  block-scalar ``|`` / ``>``, a flow ``[`` / ``{``, an anchor, alias or tag), holds ``": "``
  or ends with ``":"``, and holds no ``" #"`` (a comment would become words) and no line
  break other than ``\\n`` (``\\r``, NEL, U+2028/2029), gets its value as a JSON string, a
  YAML double-quoted scalar (``"`` and ``\\`` escaped; blanks after the value dropped). A
  value that continues on the next lines (more indented lines, blank and comment lines between
  them included: ``stopping``'s block rule for an item's lines) is left as it is: quoting its
  first line alone would change its meaning.
* The quoted answer is kept only when it loads; otherwise the answer is returned unchanged
  and nothing is said to be quoted (the document was broken in other ways too).
* The line numbers quoted (1-based) are returned, and a prediction row lists them
  (``quoted``), so the model's own answer can be rebuilt (``json.loads`` of the value).
"""

from __future__ import annotations

import json
import re

import yaml

from .stopping import _block_end

__all__ = ["quote_colon_values"]

_HEAD = re.compile(r"^(?P<indent>[ \t]*)(?:-[ \t]+)?(?P<key>title|description)[ \t]*:[ \t]+(?=[^\s\"'|>\[{&*!%@`#])")
_OTHER_BREAKS = frozenset("\r\x85\u2028\u2029")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _loads(text: str) -> bool:
    try:
        yaml.load(text, Loader=_LOADER)  # a safe loader (C when built with libyaml)
    except yaml.YAMLError:
        return False
    return True


def _quoted(lines: list[str], n: int) -> str | None:
    """Line ``n`` with its value quoted, or None when the rule does not apply to it."""
    m = _HEAD.match(lines[n])
    if m is None:
        return None
    rest = lines[n][m.end() :]
    end = "\r" if rest.endswith("\r") else ""
    value = rest.rstrip(" \t\r")
    if ": " not in value and not value.endswith(":"):
        return None
    if (
        " #" in value
        or "\t#" in value
        or not _OTHER_BREAKS.isdisjoint(value)
        or _block_end(lines, n, m.start("key")) > n + 1
    ):
        return None
    return lines[n][: m.end()] + json.dumps(value, ensure_ascii=False) + end


def quote_colon_values(text: str) -> tuple[str, list[int]]:
    """``text`` with every ``title:`` / ``description:`` value that keeps it from loading
    double-quoted, and the 1-based numbers of the lines changed (see the module rule)."""
    if _loads(text):
        return text, []
    lines = text.split("\n")
    quoted: list[int] = []
    for n in range(len(lines)):
        line = _quoted(lines, n)
        if line is not None:
            lines[n] = line
            quoted.append(n + 1)
    if not quoted:
        return text, []
    out = "\n".join(lines)
    if not _loads(out):
        return text, []
    return out, quoted
