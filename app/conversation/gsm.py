"""SMS encoding arithmetic: is a text GSM-7, and how many segments does it cost.

A single character outside the GSM 03.38 alphabet (a curly quote, an emoji) turns the whole
text into UCS-2, which holds 70 characters a segment instead of 160. Bot wording is checked
with these functions so that a passenger's phone never receives a text split in four.
"""

from __future__ import annotations

import unicodedata

# GSM 03.38 basic alphabet, in table order (0x1B, the escape, is left out).
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs two septets (escape + character).
_EXTENSION = "\f^{}\\[~]|€"

BASIC = frozenset(_BASIC)
EXTENSION = frozenset(_EXTENSION)
GSM7 = BASIC | EXTENSION

GSM7_SINGLE, GSM7_MULTI = 160, 153  # septets per segment (a multipart header takes 7)
UCS2_SINGLE, UCS2_MULTI = 70, 67  # UTF-16 code units per segment

# Look-alikes people (and word processors) produce, mapped to their GSM-7 form.
_REPLACEMENTS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
}


def is_gsm7(text: str) -> bool:
    return GSM7.issuperset(text)


def _septets(ch: str) -> int:
    return 2 if ch in EXTENSION else 1


def _utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _count(text: str, size, single: int, multi: int) -> int:
    total = sum(size(ch) for ch in text)
    if total <= single:
        return 1 if text else 0
    # Pack greedily: an escape pair or a surrogate pair is never split across segments.
    segments, used = 1, 0
    for ch in text:
        n = size(ch)
        if used + n > multi:
            segments, used = segments + 1, 0
        used += n
    return segments


def _even(length: int, single: int, multi: int) -> int:
    """_count when every character takes one unit: no pair to keep whole."""
    if length <= single:
        return 1 if length else 0
    return -(-length // multi)


def segments(text: str) -> tuple[int, str]:
    """(number of segments, "GSM-7" or "UCS-2"); an empty text is 0 segments.

    Every bot reply is counted as it is queued: a text of one-unit characters (most) is
    counted by its length, character by character only when it holds a two-unit one."""
    chars = set(text)
    if GSM7.issuperset(chars):
        if EXTENSION.isdisjoint(chars):
            return _even(len(text), GSM7_SINGLE, GSM7_MULTI), "GSM-7"
        return _count(text, _septets, GSM7_SINGLE, GSM7_MULTI), "GSM-7"
    if max(chars) <= "\uffff":
        return _even(len(text), UCS2_SINGLE, UCS2_MULTI), "UCS-2"
    return _count(text, _utf16_units, UCS2_SINGLE, UCS2_MULTI), "UCS-2"


def to_gsm7(text: str) -> str:
    """Best-effort GSM-7 form of a text: smart punctuation plain, accents dropped, rest '?'."""
    out: list[str] = []
    for ch in text:
        if ch in BASIC or ch in EXTENSION:
            out.append(ch)
            continue
        if ch in _REPLACEMENTS:
            out.append(_REPLACEMENTS[ch])
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if c in BASIC)
        out.append(base or "?")
    return "".join(out)


def plain_lookalikes(text: str) -> str:
    """Curly quotes, long dashes, ellipses and odd spaces in their GSM-7 form; nothing else
    changed (to_gsm7 would also drop accents and replace what it cannot map)."""
    return "".join(_REPLACEMENTS.get(ch, ch) for ch in text)
