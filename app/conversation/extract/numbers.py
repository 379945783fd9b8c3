"""Numbers written as words: "twelve", "twenty-five", "twenties", shared by the extractors.

Ages ("she's fourteen") and stated times ("ten minutes ago") are both often spelt out.
"""

from __future__ import annotations

import re

_UNITS = {w: n for n, w in enumerate("two three four five six seven eight nine".split(), 2)}
_TEENS = {
    w: n
    for n, w in enumerate(
        "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split(),
        10,
    )
}
_TENS = {
    w: 10 * n
    for n, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)
} | {"fourty": 40}
# "one" is left out on purpose: "one of them", "the one in kent".
NUM_WORD = (
    r"(?:(?:" + "|".join(_TENS) + r")(?:[\s-]?(?:" + "|".join(_UNITS) + r"|one))?"
    r"|" + "|".join(_TEENS) + "|" + "|".join(_UNITS) + ")"
)
DECADE_WORDS = {word[:-1] + "ies": n for word, n in _TENS.items()}  # "twenties": 20


def number_value(word: str) -> int | None:
    """12, "twelve", "twenty-five" -> int; None when it is not a number this module reads."""
    w = word.strip().lower()
    if w.isdigit():
        return int(w)
    if w in _UNITS:
        return _UNITS[w]
    if w in _TEENS:
        return _TEENS[w]
    parts = re.split(r"[\s-]+", w)
    if parts[0] in _TENS:
        extra = 1 if len(parts) > 1 and parts[1] == "one" else _UNITS.get(parts[-1], 0)
        return _TENS[parts[0]] + (extra if len(parts) > 1 else 0)
    return None
