"""Stations and the Gazetteer: every name a station can be called by, indexed at load time.

How a phrase (already normalised) names stations, strongest first:

1. an alias (aliases.csv), which may itself list several stations in order;
2. a station's exact name, an alternative name, or its name without a leading "London"
   ("waterloo east", "euston", "kings cross"; never a bare generic word such as "bridge");
3. a name without its bracketed qualifier ("newport" for "Newport (South Wales)"): that
   station only if no other station bears or begins with the same words ("swindon" is
   Swindon (Wilts)), else ambiguous ("newport", "ashford", "sutton");
4. words that several names contain ("manchester", "croydon", "snow hill"): one station if
   only one contains them, else ambiguous, names that begin with the words first.

An ambiguous phrase gives at most MAX_CANDIDATES stations, busiest first (the built-in list
is in order of use, and its order ranks the stations of any other list too).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.gazetteer.normalise import normalise
from app.gazetteer.words import OrdinaryWords, ordinary_words

MAX_CANDIDATES = 5
# A word more names contain than this is not a place ("park", "road", "london").
_MAX_CONTAINING = 12
MAX_PHRASE_TOKENS = 6
# Stations of a loaded list that are not in the built-in busiest list rank from here on.
OBSCURE_RANK = 10_000
CUE_NONE, CUE_ANY, CUE_STRONG, CUE_STATION = 0, 1, 2, 3

# Words that describe a station rather than name a place.
GENERIC_TOKENS = frozenset(
    """north south east west central junction road st park parkway cross bridge hill green lane new old
    high great little upper lower city town international airport heath common end gate gates halt square
    village valley bay harbour docks dock pier beach sands spa regis on upon in by the of le la and terminal
    terminals main low level interchange parade place court palace gardens fields wood woods marsh moor mill
    mills farm grove row station wells sea water river london rail railway line centre center platform
    platforms bridges east north west south hall hills lakes lake arena chapel crossing district estate
    general haven holes lanes link links major manor mount port priory quay quays rise riverside stadium
    strand temple triangle tunnel warren wharf western eastern bishop bishops borough broad camp chase
    crescent downs ferry forge fort grange hospital university racecourse technology church pleasure
    kings queens castle tower abbey""".split()
)

_LINK_WORDS = frozenset({"at", "on", "in", "the", "of", "upon", "le", "la", "by", "and", "under"})
_QUALIFIER_RE = re.compile(r"\s*\(([^)]*)\)")


@dataclass(frozen=True)
class StationRef:
    """A station as a conversation's facts name it (what the lookup answers)."""

    name: str
    crs: str
    area: str | None = None  # BTP-style area code, see app/gazetteer/areas.py


@dataclass(frozen=True, slots=True)
class Station:
    name: str
    crs: str
    lat: float
    lon: float
    area: str
    country: str | None = None
    rank: int = 0  # lower is busier
    alt_names: tuple[str, ...] = ()

    def ref(self) -> StationRef:
        return StationRef(name=self.name, crs=self.crs, area=self.area)


@dataclass(frozen=True, slots=True)
class NameEntry:
    """What a normalised phrase names."""

    kind: str  # "alias" | "exact" | "base" | "contains" | "none" (a known non-station phrase)
    stations: tuple[Station, ...]  # one: that station; several: candidates, best first; none
    # Which location cue the phrase needs before it counts as a station (see scan.py):
    # CUE_NONE "paddington"; CUE_ANY "in manchester", "to wigan"; CUE_STRONG "at reading",
    # "from deal"; CUE_STATION "university station", "platform 2 at university".
    cue: int = 0

    @property
    def ambiguous(self) -> bool:
        return len(self.stations) > 1


@dataclass
class _Builder:
    exact: dict[str, list[Station]] = field(default_factory=lambda: defaultdict(list))
    base: dict[str, list[Station]] = field(default_factory=lambda: defaultdict(list))
    contains: dict[str, dict[str, tuple[Station, bool]]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    def add_exact(self, phrase: str, st: Station) -> None:
        if phrase and st not in self.exact[phrase]:
            self.exact[phrase].append(st)

    def add_contains(self, tokens: list[str], st: Station, words: OrdinaryWords) -> None:
        n = len(tokens)
        for i in range(n):
            for j in range(i + 1, min(n, i + MAX_PHRASE_TOKENS) + 1):
                part = tokens[i:j]
                if all(t in GENERIC_TOKENS or t in words.common or t.isdigit() for t in part):
                    continue
                if part[0] in _LINK_WORDS or part[-1] in _LINK_WORDS:
                    continue  # "at stone" is not Watton-at-Stone
                # One word stands for a place only if it starts the name, or follows words
                # such as "east", "new", "london": "croydon" (East Croydon) yes; "arms"
                # (Craven Arms), "awe" (Loch Awe), "snow" (Birmingham Snow Hill) no.
                if j == i + 1 and (
                    len(part[0]) < 4 or not all(t in GENERIC_TOKENS for t in tokens[:i])
                ):
                    continue
                phrase = " ".join(part)
                prev = self.contains[phrase].get(st.crs)
                leading = i == 0 or (i == 1 and tokens[0] == "london")
                if prev is None or (leading and not prev[1]):
                    self.contains[phrase][st.crs] = (st, leading)


def _name_forms(name: str) -> tuple[str, str | None, bool]:
    """(full normalised name, base without qualifier or None, qualifier says it is the main one)."""
    full = normalise(name)
    m = _QUALIFIER_RE.search(name)
    if not m:
        return full, None, False
    base = normalise(_QUALIFIER_RE.sub(" ", name))
    qualifier = normalise(m.group(1))
    # "(Rail Station Only)" and "(Main)" do not tell two places apart.
    return full, base, qualifier in ("main", "rail station only")


class Gazetteer:
    """An immutable, indexed station list."""

    def __init__(
        self, stations: Iterable[Station], aliases: Mapping[str, Iterable[str]] | None = None
    ):
        self.stations: tuple[Station, ...] = tuple(sorted(stations, key=lambda s: s.rank))
        self.by_crs: dict[str, Station] = {s.crs: s for s in self.stations}
        self.words = ordinary_words()
        self._names: dict[str, NameEntry] = {}
        self.max_tokens = 1
        self._build(aliases or {})
        self.vocabulary: frozenset[str] = frozenset(t for p in self._names for t in p.split())
        # How many stations' names use each word: a typo equally near "cross" and "croes" is "cross".
        self.word_use: Counter[str] = Counter(
            t for st in self.stations for t in set(normalise(st.name).split())
        )
        by_letter: dict[str, list[str]] = defaultdict(list)
        for tok in self.vocabulary:
            if len(tok) >= 5 and tok.isalpha():
                by_letter[tok[0]].append(tok)
        self.vocabulary_by_letter: dict[str, tuple[str, ...]] = {
            k: tuple(sorted(v)) for k, v in by_letter.items()
        }

    def __len__(self) -> int:
        return len(self.stations)

    def get(self, crs: str) -> Station | None:
        return self.by_crs.get(crs.upper())

    def entry(self, phrase: str) -> NameEntry | None:
        """What an already-normalised phrase names, if anything."""
        return self._names.get(phrase)

    def lookup(self, name: str) -> tuple[Station, ...]:
        """Stations a whole name means: () none, one station, or ambiguous candidates.

        Accepts a CRS code in capitals ("KGX"; "the" is not Theale) or any name form
        ("clapham jn", "Newport").
        """
        code = name.strip()
        if len(code) == 3 and code.isupper() and code in self.by_crs:
            return (self.by_crs[code],)
        entry = self.entry(normalise(name))
        return entry.stations if entry else ()

    def _build(self, aliases: Mapping[str, Iterable[str]]) -> None:
        words = self.words
        b = _Builder()
        for st in self.stations:
            full, base, main = _name_forms(st.name)
            b.add_exact(full, st)
            if base is not None:
                if main:
                    b.add_exact(base, st)
                else:
                    b.base[base].append(st)
            for alt in st.alt_names:
                alt_full, alt_base, alt_main = _name_forms(alt)
                b.add_exact(alt_full, st)
                if alt_base is not None and alt_main:
                    b.add_exact(alt_base, st)
            # Contained words come from the unqualified name: "(Manchester)" in "Hale (Manchester)"
            # is not a Manchester station.
            forms = [base or full]
            for form in list(forms):
                toks = form.split()
                if toks[0] == "london" and len(toks) > 1 and toks[1] not in GENERIC_TOKENS:
                    b.add_exact(" ".join(toks[1:]), st)
                if "and" in toks:
                    without_and = " ".join(t for t in toks if t != "and")
                    b.add_exact(without_and, st)
                    forms.append(without_and)
            for form in forms:
                b.add_contains(form.split(), st, words)

        names: dict[str, NameEntry] = {}
        for phrase, holders in b.contains.items():
            if len(holders) > _MAX_CONTAINING:
                continue
            ordered = sorted(holders.values(), key=lambda h: (not h[1], h[0].rank))
            names[phrase] = self._entry("contains", phrase, [s for s, _ in ordered])
        for phrase, holders in b.base.items():
            leading_others = [
                s
                for s, leading in b.contains.get(phrase, {}).values()
                if leading and s not in holders
            ]
            if len(holders) == 1 and not leading_others:
                names[phrase] = self._entry("base", phrase, holders)
            else:
                names[phrase] = self._entry(
                    "base", phrase, sorted(holders + leading_others, key=lambda s: s.rank)
                )
        for phrase, holders in b.exact.items():
            names[phrase] = self._entry("exact", phrase, sorted(holders, key=lambda s: s.rank))
        for alias, codes in aliases.items():
            phrase = normalise(alias)
            found = [self.by_crs[c] for c in codes if c in self.by_crs]
            if phrase and found:
                names[phrase] = self._entry("alias", phrase, found)
        for phrase in words.not_stations:
            if phrase not in b.exact:  # a real station of that name in a custom list wins
                names[phrase] = NameEntry("none", ())
        self._names = names
        # The first word of every phrase, with the longest phrase it starts: a text scan only
        # tries windows that begin with one of these.
        starts: dict[str, int] = {}
        for phrase in names:
            toks = phrase.split()
            starts[toks[0]] = max(starts.get(toks[0], 0), len(toks))
        self.starts = starts
        self.max_tokens = max(starts.values(), default=1)

    def _entry(self, kind: str, phrase: str, stations: list[Station]) -> NameEntry:
        words = self.words
        toks = phrase.split()
        single = len(toks) == 1
        cue = CUE_NONE
        if single and kind == "contains":
            # a word several names contain: "at manchester", "to croydon"; and only "at cherry"
            # when it only begins little-used names ("in cherry", "to rose" are not places)
            cue = CUE_ANY
            if all(s.rank >= OBSCURE_RANK for s in stations):
                cue = CUE_STRONG
        if phrase in words.needs_cue or (single and toks[0] in words.common):
            cue = CUE_STRONG
        if phrase in words.needs_station:
            cue = CUE_STATION
        return NameEntry(kind, tuple(stations[:MAX_CANDIDATES]), cue)
