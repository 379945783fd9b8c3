"""Text normalisation shared by station names and texters' words.

Both sides go through the same function, so "Clapham Jn", "clapham junction" and
"CLAPHAM JUNCTION" meet as "clapham junction", and "Exeter St David's",
"exeter st davids" and "exeter saint davids" as "exeter st davids".

"st" is deliberately left ambiguous: "saint", "street" and "st" all become "st",
because a texter's "liverpool st" means London Liverpool Street while "st albans"
means St Albans. Station names never need the two told apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD_RE = re.compile(r"[a-z0-9]+(?:['\u2018\u2019`][a-z]+)*|&")
# Apostrophes vanish inside a word ("king's" -> "kings"); "&" is the word "and".
_APOSTROPHE_RE = re.compile(r"['\u2018\u2019`]")

# One token in, one or more tokens out. Only forms people actually text.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "street": ("st",),
    "saint": ("st",),
    "str": ("st",),
    "jn": ("junction",),
    "jnc": ("junction",),
    "jct": ("junction",),
    "jcn": ("junction",),
    "junc": ("junction",),
    "jnct": ("junction",),
    "intl": ("international",),
    "int": ("international",),
    "pkwy": ("parkway",),
    "pky": ("parkway",),
    "pwy": ("parkway",),
    "picc": ("piccadilly",),
    "piccy": ("piccadilly",),
    "rd": ("road",),
    "stn": ("station",),
    "ctrl": ("central",),
    "cntrl": ("central",),
    "cen": ("central",),
    "pk": ("park",),
    "apt": ("airport",),
    "hbr": ("harbour",),
    "harbor": ("harbour",),
    "sq": ("square",),
    "gdns": ("gardens",),
    "mcr": ("manchester",),
    "manc": ("manchester",),
    "brum": ("birmingham",),
    "bham": ("birmingham",),
    "lpool": ("liverpool",),
    "kingsx": ("kings", "cross"),
    "kx": ("kings", "cross"),
}

# "x" is "cross" only after these ("kings x", "charing x"); elsewhere it is a kiss or a times sign.
_X_AFTER = frozenset({"kings", "king", "charing", "gerrards"})


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # normalised form
    start: int  # span in the original text
    end: int


def tokenize(text: str) -> list[Token]:
    """Normalised tokens with their spans in `text` (spans index the original string)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lower-case to two; keep spans aligned
        lowered = "".join(c.lower()[:1] for c in text)
    tokens: list[Token] = []
    for m in _WORD_RE.finditer(lowered):
        raw = m.group(0)
        if raw == "&":
            tokens.append(Token("and", m.start(), m.end()))
            continue
        word = _APOSTROPHE_RE.sub("", raw)
        if word == "x" and tokens and tokens[-1].text in _X_AFTER:
            tokens.append(Token("cross", m.start(), m.end()))
            continue
        expanded = ABBREVIATIONS.get(word)
        if expanded is None:
            tokens.append(Token(word, m.start(), m.end()))
        else:
            for part in expanded:
                tokens.append(Token(part, m.start(), m.end()))
    return tokens


def normalise(text: str) -> str:
    """Lower-case, punctuation-free, abbreviation-expanded form of `text`.

    >>> normalise("Clapham Jn.")
    'clapham junction'
    >>> normalise("King's X")
    'kings cross'
    """
    return " ".join(t.text for t in tokenize(text))
