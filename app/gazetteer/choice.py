"""Reading the answer to "Which station? 1 Newport (South Wales) 2 Newport (Essex)".

In order: a number or ordinal ("2", "no 2", "the second"); a station named in the answer
("snow hill", "ashford international", "london waterloo"); words that only one candidate's
name has ("queen street", "essex", "the international one"); "the main one" / "just oxford"
for the candidate whose name is the plain one; a region ("the one in kent", "in wales").

A station the texter names that is not among the candidates is returned too: they have told
us where they are.
"""

from __future__ import annotations

import re

from rapidfuzz.distance import OSA

from app.gazetteer.model import GENERIC_TOKENS, Gazetteer, Station, StationRef
from app.gazetteer.normalise import normalise
from app.gazetteer.regions import regions_in
from app.gazetteer.scan import find_mentions

_ORDINALS = {
    "first": 1, "1st": 1, "one": 1, "second": 2, "2nd": 2, "two": 2, "third": 3, "3rd": 3, "three": 3,
    "fourth": 4, "4th": 4, "four": 4, "fifth": 5, "5th": 5, "five": 5,
}  # fmt: skip
_NUMBER_ANSWER_RE = re.compile(
    r"^\s*(?:(?:it'?s|its|i'?m at|im at|no|number|num|option|choice|the)\.?\s*)*#?\s*"
    r"(?P<n>[0-9]{1,2})\s*(?:st|nd|rd|th)?\b(?:\s*(?:one|pls|please|thanks|ta|station))*\W*$",
    re.IGNORECASE,
)
_PLAIN_WORDS = frozenset({"main", "just", "normal", "usual", "big", "proper", "only"})
_FILLER = frozenset(
    {"the", "one", "in", "a", "its", "it", "is", "im", "at", "station", "please", "just"}
)


def resolve_choice(
    text: str, candidates: tuple[StationRef, ...], gazetteer: Gazetteer
) -> StationRef | None:
    """The station an answer picks out of `candidates` (or names outright), else None."""
    if not candidates or not text.strip():
        return None
    words = normalise(text).split()
    pick = _by_number(text, words, candidates)
    if pick is not None:
        return pick
    by_crs = {c.crs: c for c in candidates}
    named, elsewhere = _by_mention(text, by_crs, gazetteer)
    if named is not None:
        return named
    stations = [gazetteer.get(c.crs) for c in candidates]
    known = [s for s in stations if s is not None]
    pick = (
        _by_distinct_words(words, known) or _by_plain_name(words, known) or _by_region(text, known)
    )
    if pick is not None:
        return by_crs[pick.crs]
    return elsewhere


def _by_number(
    text: str, words: list[str], candidates: tuple[StationRef, ...]
) -> StationRef | None:
    n: int | None = None
    m = _NUMBER_ANSWER_RE.match(text)
    if m:
        n = int(m.group("n"))
    elif len(words) <= 4:
        ordinals = [_ORDINALS[w] for w in words if w in _ORDINALS and w not in ("one",)]
        if "last" in words:
            ordinals.append(len(candidates))
        if len(ordinals) == 1:
            n = ordinals[0]
    if n is not None and 1 <= n <= len(candidates):
        return candidates[n - 1]
    return None


def _by_mention(
    text: str, by_crs: dict[str, StationRef], g: Gazetteer
) -> tuple[StationRef | None, StationRef | None]:
    """(a candidate the text names, a station it names that is not a candidate)."""
    outside: StationRef | None = None
    for mention in find_mentions(text, g):
        inside = [s for s in mention.stations if s.crs in by_crs]
        if len(inside) == 1:
            return by_crs[inside[0].crs], None
        if not mention.ambiguous and outside is None and not inside:
            outside = mention.stations[0].ref()
    return None, outside


def _name_words(st: Station) -> set[str]:
    return set(normalise(st.name).split())


def _by_distinct_words(words: list[str], stations: list[Station]) -> Station | None:
    if len(stations) < 2:
        return None
    names = [_name_words(s) for s in stations]
    shared = set.intersection(*names)
    scores = []
    for st, name in zip(stations, names, strict=True):
        distinct = {w for w in name - shared if w not in _FILLER}
        score = 0
        for w in words:
            if w in _FILLER:
                continue
            if w in distinct:
                score += 2 if w not in GENERIC_TOKENS else 1
            elif len(w) >= 5 and any(
                len(d) >= 5 and OSA.distance(w, d, score_cutoff=1) <= 1 for d in distinct
            ):
                score += 1
        scores.append((score, st))
    best = max(s for s, _ in scores)
    winners = [st for s, st in scores if s == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


def _by_plain_name(words: list[str], stations: list[Station]) -> Station | None:
    """ "the main one", "just bedford": the candidate whose name is the shortest, plain one."""
    if not _PLAIN_WORDS.intersection(words) or len(stations) < 2:
        return None
    names = sorted(stations, key=lambda s: len(_name_words(s)))
    if len(_name_words(names[0])) < len(_name_words(names[1])):
        return names[0]
    return None


def _by_region(text: str, stations: list[Station]) -> Station | None:
    for region in regions_in(text):
        inside = [s for s in stations if region.contains(s)]
        if len(inside) == 1:
            return inside[0]
    return None
