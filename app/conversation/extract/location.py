"""Location extractor: station (or candidates to confirm), platform, train and coach.

    extract_location("lad on plat 4 at clapham jn", gazetteer)
    -> Location(text="plat 4 at clapham jn", station=Clapham Junction, platform="4")

Stations come from app.gazetteer (names, aliases, CRS codes, typos). A train is a service
the texter is on or names: "the 14:32 from york to leeds", "between wigan and preston",
"the train to leeds", "the southern train". Stations named as a train's ends are the train,
not the location; the location station is one the texter is at ("at X", "X station", "off at
X"). Times, ages and money are never platforms or coaches: "platform" or "coach" must be said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.conversation.facts import Location
from app.gazetteer import Gazetteer, Station, normalise
from app.gazetteer.choice import resolve_choice
from app.gazetteer.model import StationRef
from app.gazetteer.normalise import Token, tokenize
from app.gazetteer.regions import regions_in
from app.gazetteer.scan import Mention, find_mentions

__all__ = ["extract_location", "normalise", "resolve_choice"]

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}  # fmt: skip
_ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}  # fmt: skip
_NUM = r"[0-9]{1,2}|" + "|".join(_NUMBER_WORDS)

_PLATFORM_RE = re.compile(
    r"\b(?:platforms?|platfrom|platfom|platfor|pltfrm|pltfm|plat|plt|pf)\.?\s*[:\-]?\s*"
    r"(?:no\.?\s*|number\s*|#\s*)?"
    r"(?P<num>" + _NUM + r")(?P<letter>[a-d])?\b(?![:.][0-9])",
    re.IGNORECASE,
)
_P_RE = re.compile(
    r"(?<![\w£$])p(?P<num>[0-9]{1,2})(?P<letter>[a-d])?\b(?![:.][0-9])", re.IGNORECASE
)
_MAX_PLATFORM = 30

_COACH_WORD = r"(?:coach|carriage|carrige|carrage|carraige|carridge)"
_COACH_RE = re.compile(
    r"\b(?i:" + _COACH_WORD + r")\s*[:\-]?\s*(?i:no\.?\s*|number\s*|#\s*)?"
    r"(?P<value>[0-9]{1,2}|[A-Za-z])\b(?!['\u2019])"
)
_COACH_ORDINAL_RE = re.compile(
    r"\b(?:(?P<num>[0-9]{1,2})(?:st|nd|rd|th)|(?P<word>"
    + "|".join(_ORDINAL_WORDS)
    + r"))\s+"
    + _COACH_WORD
    + r"\b",
    re.IGNORECASE,
)
# What may follow a number that is not a coach: "coach 25 mins", "carriage 3 people".
_NOT_COACH_AFTER = re.compile(
    r"\s*(?:[:.][0-9]|%|(?:am|pm|mins?|minutes?|hours?|hrs?|yrs?|years?|yo|quid|pounds?|stops?|ppl|people|"
    r"men|lads|of us|o\s?clock)\b)",
    re.IGNORECASE,
)
# A lower-case "a" after "coach" is usually the article ("the coach a bit further on").
_LONE_A_OK_AFTER = re.compile(
    r"\s*(?:$|[,.;!?)]|(?:of|on|in|at|and|near|towards|with)\b)", re.IGNORECASE
)

_TIME_RE = re.compile(
    r"(?<![0-9:£$.])(?:(?P<h>[01]?[0-9]|2[0-3])[:.](?P<m>[0-5][0-9])(?:\s?(?P<ap>am|pm))?"
    r"|(?P<h2>1[0-2]|0?[1-9])\s?(?P<ap2>am|pm))(?![0-9:])",
    re.IGNORECASE,
)
_FOUR_DIGIT_TIME_RE = re.compile(r"\bthe\s+(?P<t>(?:[01][0-9]|2[0-3])[0-5][0-9])\b", re.IGNORECASE)

_QUALIFIER_RE = re.compile(r"\s*\((?!main\))[^)]*\)", re.IGNORECASE)
_TRAIN_WORDS = frozenset({"train", "service", "tube", "tram"})
_ON_WORDS = frozenset({"the", "a", "this", "that", "my"})
_OPERATORS = {
    "southern": "Southern", "southeastern": "Southeastern", "thameslink": "Thameslink", "gwr": "GWR",
    "lner": "LNER", "avanti": "Avanti", "northern": "Northern", "crosscountry": "CrossCountry",
    "transpennine": "TransPennine", "tpe": "TransPennine", "scotrail": "ScotRail", "c2c": "c2c",
    "chiltern": "Chiltern", "merseyrail": "Merseyrail", "overground": "Overground", "elizabeth": "Elizabeth line",
    "anglia": "Greater Anglia", "lumo": "Lumo", "emr": "EMR", "swr": "SWR", "tfw": "TfW",
    "caledonian": "Caledonian Sleeper", "northwestern": "London Northwestern",
}  # fmt: skip
_OPERATOR_WORDS = frozenset(_OPERATORS)
_NOW_WORDS = frozenset({"now", "currently", "still"})


@dataclass(frozen=True, slots=True)
class _Found:
    value: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Item:
    kind: str  # "word" | "time" | "mention"
    text: str
    start: int
    end: int
    mention: Mention | None = None


def extract_location(text: str, gazetteer: Gazetteer, *, answering: bool = False) -> Location | None:
    """Where the texter is (or was): station or candidates, platform, train, coach. None if nothing.

    `answering`: the bot has just asked where they are, and the question is the cue that a
    name needing one lacks: "chester" alone answers it as "at chester" would.
    """
    found = _extract_location(text, gazetteer)
    if found is None and answering:
        found = _extract_location("at " + text, gazetteer)
    return found


def _extract_location(text: str, gazetteer: Gazetteer) -> Location | None:
    tokens = tokenize(text)
    mentions = find_mentions(text, gazetteer, tokens)
    platform = _platform(text)
    coach = _coach(text)
    items = _items(text, tokens, mentions)
    train, endpoints = _train(items)
    chosen = _choose(mentions, [t.text for t in tokens], endpoints, has_train=train is not None)
    if chosen is None and platform is None and coach is None and train is None:
        return None
    spans = [(f.start, f.end) for f in (platform, coach, train) if f is not None]
    station: StationRef | None = None
    candidates: tuple[StationRef, ...] = ()
    if chosen is not None:
        spans.append((chosen.start, chosen.end))
        refs = tuple(s.ref() for s in chosen.stations)
        settled = _settled_by_region(text, chosen) if chosen.ambiguous else None
        if settled is not None:
            station = settled.ref()
        elif chosen.ambiguous:
            candidates = refs
        else:
            station = refs[0]
    return Location(
        text=_evidence(text, spans),
        station=station,
        candidates=candidates,
        platform=platform.value if platform else None,
        train=train.value if train else None,
        coach=coach.value if coach else None,
    )


def _choose(
    mentions: list[Mention], words: list[str], endpoints: set[int], has_train: bool
) -> Mention | None:
    """The station the texter is at: cued ("at X", "X station") before bare, never a train's end."""
    end_crs = {s.crs for m in mentions if id(m) in endpoints for s in m.stations}
    # "a lad from leeds" says where he came from, not where anyone is
    usable = [m for m in mentions if id(m) not in endpoints and m.cue != "origin"]
    if has_train:
        # On a train, "up to lancaster" is where someone is going, not where the texter is.
        usable = [m for m in usable if m.strong and not {s.crs for s in m.stations} <= end_crs]
    strong = [m for m in usable if m.strong]
    pool = strong or usable
    if not pool:
        return None
    # "was at leeds, now at york": the place said to be now
    current = [
        m for m in pool if _NOW_WORDS.intersection(words[max(0, m.first_token - 3) : m.first_token])
    ]
    chosen = current[0] if current else pool[0]
    # "edinburgh haymarket", "manchester deansgate": the city, then the station in it
    for m in mentions:
        if m.first_token == chosen.last_token and not m.ambiguous and id(m) not in endpoints:
            return m
    return chosen


def _settled_by_region(text: str, mention: Mention) -> Station | None:
    """ "newport in wales", "gillingham, kent": a region right after an ambiguous name."""
    for region in regions_in(text[mention.end : mention.end + 30]):
        inside = [s for s in mention.stations if region.contains(s)]
        if len(inside) == 1:
            return inside[0]
    return None


def _platform(text: str) -> _Found | None:
    for regex in (_PLATFORM_RE, _P_RE):
        for m in regex.finditer(text):
            num = m.group("num").lower()
            value = _NUMBER_WORDS.get(num, None) if not num.isdigit() else int(num)
            if value is None or value > _MAX_PLATFORM:
                continue
            letter = (m.group("letter") or "").lower()
            return _Found(f"{value}{letter}", m.start(), m.end())
    return None


def _coach(text: str) -> _Found | None:
    for m in _COACH_RE.finditer(text):
        value = m.group("value")
        rest = text[m.end() :]
        if value.isdigit():
            if not 1 <= int(value) <= 20 or _NOT_COACH_AFTER.match(rest):
                continue
            return _Found(str(int(value)), m.start(), m.end())
        if value in "iI" or (value.islower() and value == "a" and not _LONE_A_OK_AFTER.match(rest)):
            continue
        if value.islower() and value > "m" and not _LONE_A_OK_AFTER.match(rest):
            continue  # "coach s..." is rarely a coach letter unless it stands alone
        return _Found(value.upper(), m.start(), m.end())
    for m in _COACH_ORDINAL_RE.finditer(text):
        n = int(m.group("num")) if m.group("num") else _ORDINAL_WORDS[m.group("word").lower()]
        if 1 <= n <= 20:
            return _Found(str(n), m.start(), m.end())
    return None


def _times(text: str) -> list[_Found]:
    found = []
    for m in _TIME_RE.finditer(text):
        if m.group("h") is not None:
            value = f"{int(m.group('h')):02d}:{m.group('m')}"
            if m.group("ap"):
                value += m.group("ap").lower()
        else:
            value = f"{int(m.group('h2'))}{m.group('ap2').lower()}"
        found.append(_Found(value, m.start(), m.end()))
    for m in _FOUR_DIGIT_TIME_RE.finditer(text):
        t = m.group("t")
        found.append(_Found(f"{t[:2]}:{t[2:]}", m.start("t"), m.end("t")))
    return found


def _items(text: str, tokens: list[Token], mentions: list[Mention]) -> list[_Item]:
    """The text as words, times and station mentions, in order."""
    items: list[_Item] = [_Item("time", f.value, f.start, f.end) for f in _times(text)]
    items += [_Item("mention", text[m.start : m.end], m.start, m.end, m) for m in mentions]
    taken = [(i.start, i.end) for i in items]
    for tok in tokens:
        if not taken or not any(s <= tok.start < e for s, e in taken):
            items.append(_Item("word", tok.text, tok.start, tok.end))
    items.sort(key=lambda i: (i.start, i.kind != "mention"))
    return items


def _name(item: _Item) -> str:
    m = item.mention
    assert m is not None
    if m.ambiguous:
        return " ".join(w.capitalize() for w in normalise(item.text).split())
    # "Swindon (Wilts)" reads as "Swindon" in a service name.
    return _QUALIFIER_RE.sub("", m.stations[0].name).strip()


def _is(
    items: list[_Item], k: int, kind: str, words: frozenset[str] | set[str] | None = None
) -> bool:
    if k >= len(items) or items[k].kind != kind:
        return False
    return words is None or items[k].text in words


_FROM = frozenset({"from", "leaving", "departing"})
_TO = frozenset({"to", "towards", "for"})


def _route(items: list[_Item], j: int) -> tuple[str, int, set[int]] | None:
    """A route starting at items[j]: "from A to B", "from A", "A to B", "to B"."""
    if _is(items, j, "word", _FROM) and _is(items, j + 1, "mention"):
        a = items[j + 1]
        if _is(items, j + 2, "word", _TO) and _is(items, j + 3, "mention"):
            b = items[j + 3]
            return f"{_name(a)} to {_name(b)}", j + 3, {id(a.mention), id(b.mention)}
        return f"from {_name(a)}", j + 1, {id(a.mention)}
    if _is(items, j, "mention") and _is(items, j + 1, "word", _TO) and _is(items, j + 2, "mention"):
        a, b = items[j], items[j + 2]
        return f"{_name(a)} to {_name(b)}", j + 2, {id(a.mention), id(b.mention)}
    if _is(items, j, "word", _TO) and _is(items, j + 1, "mention"):
        b = items[j + 1]
        return f"to {_name(b)}", j + 1, {id(b.mention)}
    if _is(items, j, "word", {"out"}) and _is(items, j + 1, "word", {"of"}) and _is(items, j + 2, "mention"):
        a = items[j + 2]  # "the 12:10 out of crewe"
        return f"from {_name(a)}", j + 2, {id(a.mention)}
    return None


_NOT_A_START = frozenset(
    "i he she they we you it his her their my our your me him them us the a an went go goes"
    " going gone got get gets was were is are came come comes ran run walked walk headed head"
    " heading left leave back off up down over then and but so just still also going to".split()
)


def _loose_route(items: list[_Item], j: int) -> tuple[str, int, set[int]] | None:
    """After a time, a start the gazetteer did not take as a station on its own ("derby",
    "reading", "wigan": words, or names several stations share) and "to" a station: the
    15:35 derby to nottingham is a train."""
    for to in range(j + 1, min(j + 4, len(items) - 1)):
        if _is(items, to, "word", {"to"}) and _is(items, to + 1, "mention"):
            start = items[j:to]
            if all(i.kind == "mention" or (i.kind == "word" and i.text not in _NOT_A_START)
                   for i in start):
                b = items[to + 1]
                name = " ".join(i.text for i in start).title()
                ends = {id(i.mention) for i in start if i.mention} | {id(b.mention)}
                return f"{name} to {_name(b)}", to + 1, ends
            return None
    return None


def _train(items: list[_Item]) -> tuple[_Found | None, set[int]]:
    """The train named in the text, and the ids of the mentions that are its ends.

    A head (a time, an operator, "train"/"service") with a route after it; "between A and B";
    "from A to B" in a text about a train; else "on the train".
    """
    for k, item in enumerate(items):
        parts: list[str] = []
        j = k
        if item.kind == "time":
            parts.append(item.text)
            j += 1
        if _is(items, j, "word", _OPERATOR_WORDS):
            parts.append(_OPERATORS[items[j].text])
            j += 1
        said_train = _is(items, j, "word", {"train", "service"})
        if said_train:
            j += 1
        if not parts and not said_train:
            continue
        route = _route(items, j)
        if route is None and item.kind == "time":
            route = _loose_route(items, j)
        if route is not None:
            text, last, ends = route
            return _found(" ".join([*parts, text]), item, items[last]), ends
        if parts and said_train:
            return _found(" ".join(parts), item, items[j - 1]), set()
        if item.kind == "time" and len(parts) == 1 and _is(items, j, "mention"):
            if k > 0 and items[k - 1].text == "the":  # "the 18:20 paddington"
                return _found(f"{item.text} {_name(items[j])}", item, items[j]), {
                    id(items[j].mention)
                }
    for k in range(len(items) - 3):
        if _is(items, k, "word", {"between"}) and _is(items, k + 1, "mention"):
            if _is(items, k + 2, "word", {"and"}) and _is(items, k + 3, "mention"):
                a, b = items[k + 1], items[k + 3]
                return _found(f"between {_name(a)} and {_name(b)}", items[k], b), {
                    id(a.mention),
                    id(b.mention),
                }
    if any(i.kind == "word" and i.text in _TRAIN_WORDS for i in items):
        for k in range(len(items)):
            if _is(items, k, "word", {"from"}):
                route = _route(items, k)
                if route is not None and " to " in route[0]:
                    text, last, ends = route
                    return _found(text, items[k], items[last]), ends
    for k, item in enumerate(items):
        if item.kind == "word" and item.text in ("on", "in", "of", "aboard"):
            j = k + 1 + (1 if _is(items, k + 1, "word", _ON_WORDS) else 0)
            if _is(items, j, "word", _TRAIN_WORDS) and items[j].text != "service":
                det = items[k + 1].text if j == k + 2 else "the"
                return _found(f"on {det} {items[j].text}", item, items[j]), set()
            if j > k + 1 and _is(items, j, "word", _OPERATOR_WORDS):  # "on the thameslink"
                return _found(_OPERATORS[items[j].text], item, items[j]), set()
    return None, set()


def _found(value: str, first: _Item, last: _Item) -> _Found:
    return _Found(value, first.start, last.end)


def _evidence(text: str, spans: list[tuple[int, int]]) -> str:
    """The words the location came from: one stretch of the text if short, else the pieces."""
    spans.sort()
    start, end = spans[0][0], max(e for _, e in spans)
    if end - start <= 80:
        return " ".join(text[start:end].split())
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1] + 4:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return " ... ".join(" ".join(text[s:e].split()) for s, e in merged)
