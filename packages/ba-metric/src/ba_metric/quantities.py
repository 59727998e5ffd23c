"""Money amounts, durations and dates written in a text, in the ways people write them.

Used by the content score to compare a document's budget and deadline with its concept's.
Text is expected lower-cased and accent-folded (``content.fold``). Recognised forms:

* money: a currency marker before or after an amount (``$40k``, ``40,000 usd``,
  ``eur 40.000``, ``40.000 €``, ``£1.2m``, ``30 mil euros``), or ``N grand``; thousands
  separators ``,`` ``.`` or a space, scale words k / thousand / mil / m / million /
  millones / bn;
* durations: ``6 months``, ``12-month``, ``20 weeks``, ``seis meses`` (number words one to
  twenty-four, uno to veinticuatro), converted to days (a month is 30, a week 7);
* dates: years 2020-2049 and quarters ``q3 2027``.
"""

from __future__ import annotations

import re

__all__ = ["NUMBER_WORDS", "Quantities", "parse_amount", "quantities", "same_amount"]

_AMOUNT = r"\d{1,3}(?:[,. ]\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d+)?"
_SCALE = r"k|thousand|mil|grand|mm|m|million|millions|millones|millon|bn|billion"
_PRE = r"us\$|\$|€|£|\busd|\beur|\bgbp"
_POST = r"\$|€|£|usd\b|eur\b|euros?\b|gbp\b|dollars?\b|dolares\b|pounds?\b|libras\b"
_MONEY_RE = re.compile(
    rf"(?:{_PRE})\s?(?P<a>{_AMOUNT})(?:\s?(?P<s>{_SCALE})\b)?"
    rf"|(?<![\w.,])(?P<b>{_AMOUNT})(?:\s?(?P<t>{_SCALE})\b)?\s?(?:de\s)?(?:{_POST})"
    rf"|(?<![\w.,])(?P<c>{_AMOUNT})\s?grand\b"
)
_SCALES = {
    "k": 1e3, "thousand": 1e3, "mil": 1e3, "grand": 1e3, "mm": 1e6, "m": 1e6, "million": 1e6,
    "millions": 1e6, "millones": 1e6, "millon": 1e6, "bn": 1e9, "billion": 1e9,
}  # fmt: skip
_WORDS = {
    w: i
    for i, names in enumerate(
        [
            "", "one a uno una un", "two dos", "three tres", "four cuatro", "five cinco",
            "six seis", "seven siete", "eight ocho", "nine nueve", "ten diez", "eleven once",
            "twelve doce", "thirteen trece", "fourteen catorce", "fifteen quince",
            "sixteen dieciseis", "seventeen diecisiete", "eighteen dieciocho",
            "nineteen diecinueve", "twenty veinte", "", "", "", "twenty-four veinticuatro",
        ]
    )
    for w in names.split()
}  # fmt: skip
#: number words a concept may give a count in (one to twenty, uno to veinticuatro, a dozen; the
#: compounds twenty-one to twenty-four are read by ``facts``)
NUMBER_WORDS = {
    **{w: float(n) for w, n in _WORDS.items() if n and len(w) > 1},
    **{"veintiuno": 21.0, "veintiuna": 21.0, "veintidos": 22.0, "veintitres": 23.0, "dozen": 12.0, "docena": 12.0},
}
_NUM_WORDS = "|".join(sorted((re.escape(w) for w in _WORDS if len(w) > 1), key=len, reverse=True))
_DURATION_RE = re.compile(rf"\b(?P<n>\d{{1,3}}|{_NUM_WORDS})[ -]?(?P<u>months?|meses|mes|weeks?|semanas?)\b")
_UNIT_DAYS = {"m": 30, "w": 7, "s": 7}  # months/meses, weeks, semanas
_DIGIT_RE = re.compile(r"\d")
_YEAR_RE = re.compile(r"(?<![\d.,$€£])\b(20[2-4]\d)\b(?![.,]\d)")
_QUARTER_RE = re.compile(r"\bq([1-4])\b")


def parse_amount(text: str) -> float:
    """A number as written: thousands separated by ``,`` ``.`` or a space (``10.000`` is ten
    thousand), decimals by ``.`` or ``,`` (``2,5``). Raises ValueError on anything else."""
    if re.fullmatch(r"\d{1,3}(?:[,. ]\d{3})+", text):
        return float(re.sub(r"[,. ]", "", text))
    m = re.fullmatch(r"(\d{1,3}(?:[,. ]\d{3})+)[.,](\d{1,2})", text)
    if m:
        return float(re.sub(r"[,. ]", "", m.group(1)) + "." + m.group(2))
    return float(text.replace(",", "."))


class Quantities:
    """What ``quantities`` found: money amounts, durations in days, years and quarters."""

    __slots__ = ("money", "days", "years", "quarters")

    def __init__(
        self, money: tuple[float, ...], days: tuple[int, ...], years: frozenset[str], quarters: frozenset[str]
    ) -> None:
        self.money, self.days, self.years, self.quarters = money, days, years, quarters

    @property
    def has_deadline(self) -> bool:
        return bool(self.days or self.years or self.quarters)


def quantities(text: str) -> Quantities:
    """Money, durations (days), years and quarters in folded, lower-cased ``text``."""
    money = []
    if _DIGIT_RE.search(text):
        for m in _MONEY_RE.finditer(text):
            raw = m.group("a") or m.group("b") or m.group("c")
            scale = m.group("s") or m.group("t") or ("grand" if m.group("c") else None)
            try:
                money.append(parse_amount(raw) * _SCALES.get(scale or "", 1.0))
            except ValueError:
                continue
    days = []
    if "mes" in text or "month" in text or "week" in text or "semana" in text:
        for m in _DURATION_RE.finditer(text):
            n = m.group("n")
            count = int(n) if n.isdigit() else _WORDS.get(n, 0)
            if count:
                days.append(count * _UNIT_DAYS.get(m.group("u")[0], 30))
    if money or days or _DIGIT_RE.search(text):
        years = frozenset(_YEAR_RE.findall(text))
        quarters = frozenset(_QUARTER_RE.findall(text))
    else:
        years = quarters = frozenset()
    return Quantities(tuple(money), tuple(days), years, quarters)


def same_amount(value: float, others: tuple[float, ...] | list[float], rel: float = 0.02) -> bool:
    """``value`` is within ``rel`` (2 %) of one of ``others``."""
    return any(abs(value - o) <= rel * max(abs(o), 1.0) for o in others)
