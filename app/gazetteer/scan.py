"""Finding station mentions in free text.

Left to right, the longest phrase that names something wins ("london waterloo east" over
"waterloo"). A CRS code counts when typed in capitals ("KGX"), in lower case only before
"station" ("kgx station"). A word that is not an ordinary word and is not known may be a typo:
it is corrected to a known name word one or two edits away (first letter kept), and the corrected
phrase is looked up again.

Names that are ordinary words ("reading", "deal", "march", "high street") count only with a
location cue: "at", "near", "outside", "from", "station" after, a platform; a word several names
contain ("manchester") with any cue, "in" and "to" included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from app.gazetteer.model import (
    CUE_ANY,
    CUE_NONE,
    CUE_STATION,
    CUE_STRONG,
    OBSCURE_RANK,
    Gazetteer,
    NameEntry,
    Station,
)
from app.gazetteer.normalise import Token, tokenize

# Words before a name that say it is a place. "in" and "to" are weaker: "to deal with it",
# "in march" are not places, so they do not license an ordinary-word name.
_STRONG_BEFORE = frozenset(
    {"at", "near", "outside", "opposite", "leaving", "left", "approaching", "via"}
)
# "from X" is a place too, but where someone came from, not where they are.
_ORIGIN_BEFORE = frozenset({"from"})
_WEAK_BEFORE = frozenset(
    {"in", "to", "into", "towards", "past", "reaching", "between", "and", "for"}
)
_AFTER = frozenset({"station", "railway", "platform", "platforms", "rail"})
_CUE_STRENGTH = {
    "": CUE_NONE,
    "weak": CUE_ANY,
    "origin": CUE_STRONG,
    "strong": CUE_STRONG,
    "station": CUE_STATION,
}
_PLATFORM_NO = re.compile(r"[0-9]{1,2}[a-d]?")
_PLATFORM_WORDS = frozenset({"platform", "plat", "pf", "plt"})
_TRAIN_WORDS = frozenset({"train", "service", "trains"})
# Common capitalised three-letter words and texting acronyms that are also CRS codes.
_CAPS_WORDS = frozenset(
    """the and man bag car can not now yes got get out off for her his him she you are was had has bus run big
    old new two one ten six sit saw see say way day hit cut boy guy lad kid mum dad men van cab hat top red sad bad
    mad fat wet hot all any our who why how too let put try use own lol omg wtf btw idk pls sos bar pub sun ice
    fit key war arm leg eye ear hop box lee ash dry abh asb btp dlr fgw mot mrs irl smh ppl swr uni bro app
    add act air art ask ass bit buy cow cry egg fox god gun ink law lay led lip lot low net nor pen pet pin
    pot ran rid row sea set son tea tip win won yet arg dms""".split()
)


@dataclass(frozen=True, slots=True)
class Mention:
    start: int  # character span in the original text
    end: int
    first_token: int  # token span, end exclusive
    last_token: int
    entry: NameEntry
    cue: str  # "station" (station word, platform), "strong" ("at"), "origin" ("from"), "weak" ("in", "to"), ""
    via: str  # "name", "crs" or "fuzzy"

    @property
    def stations(self) -> tuple[Station, ...]:
        return self.entry.stations

    @property
    def ambiguous(self) -> bool:
        return self.entry.ambiguous

    @property
    def strong(self) -> bool:
        """Said to be a place: "at X", "X station", "platform 2 X"."""
        return self.cue in ("station", "strong")


def _cue(tokens: list[Token], i: int, j: int, covered: list[bool] | None = None) -> str:
    after = tokens[j].text if j < len(tokens) else ""
    before = tokens[i - 1].text if i > 0 else ""
    before2 = tokens[i - 2].text if i > 1 else ""
    if after in _AFTER:
        return "station"
    # "platform 4 reading", "p4 woking", "plat 2 at hope"
    k = i - 1 if before not in ("at", "of", "in") else i - 2
    if k >= 0 and (
        (_PLATFORM_NO.fullmatch(tokens[k].text) and k > 0 and tokens[k - 1].text in _PLATFORM_WORDS)
        or re.fullmatch(r"p\d{1,2}[a-d]?", tokens[k].text)
    ):
        return "station"
    if after == "train" and j + 1 < len(tokens) and tokens[j + 1].text == "station":
        return "station"
    if before in _ORIGIN_BEFORE:
        return "origin"
    if before in _STRONG_BEFORE or before == "@":
        return "strong"
    if before in _WEAK_BEFORE:
        # "train to reading", "the 18:05 to reading", "paddington to reading": a journey's end,
        # strong enough for an ordinary-word name
        if before == "to" and (
            before2 in _TRAIN_WORDS or before2.isdigit() or (covered is not None and covered[i - 2])
        ):
            return "strong"
        return "weak"
    return ""


_LINK_WORDS = frozenset({"in", "on", "the", "of", "by", "and", "upon", "le", "la", "at", "under"})
# Endings of inflected English words: "reaching", "settled", "strikers" are words, not typos.
_INFLECTED = ("ing", "ed", "es", "ers", "ly", "ness", "ment")


def _accept(
    entry: NameEntry, cue: str, fuzzy_single: bool, word: str = "", fixed: str = ""
) -> bool:
    if fuzzy_single:
        # One corrected word on its own is the weakest evidence: it must become a whole name
        # (not a word several names contain), one edit away, not look like an inflected word,
        # and when short, be a busy station's name.
        if entry.kind == "contains" or entry.ambiguous:
            return False
        if OSA.distance(word, fixed, score_cutoff=1) > 1 or word.endswith(_INFLECTED):
            return False
        if len(word) < 6 and entry.stations[0].rank >= OBSCURE_RANK:
            return False
    need = max(entry.cue, CUE_STRONG if fuzzy_single else CUE_NONE)
    return _CUE_STRENGTH[cue] >= need


class _Fuzzy:
    """Typo correction of single words against the gazetteer's name vocabulary."""

    def __init__(self, gazetteer: Gazetteer):
        self.g = gazetteer

    def correct(self, word: str) -> str | None:
        g = self.g
        # Four letters are corrected too ("kings cros"), but a corrected word on its own counts
        # only from six letters (see _accept).
        if len(word) < 4 or not word.isalpha() or word in g.vocabulary or word in g.words.common:
            return None
        bucket = g.vocabulary_by_letter.get(word[0])
        if not bucket:
            return None
        limit = 1 if len(word) < 8 else 2
        near = process.extract(word, bucket, scorer=OSA.distance, score_cutoff=limit, limit=None)
        if not near:
            return None
        return min(near, key=lambda hit: (hit[1], -g.word_use[hit[0]], hit[0]))[0]


def find_mentions(
    text: str, gazetteer: Gazetteer, tokens: list[Token] | None = None
) -> list[Mention]:
    """Station mentions in `text`, left to right, each accepted by the cue rules.

    `tokens` may pass in tokenize(text) where the caller has it already.
    """
    if tokens is None:
        tokens = tokenize(text)
    mentions: list[Mention] = []
    n = len(tokens)
    covered = [False] * n
    words = [t.text for t in tokens]
    _scan(text, tokens, words, gazetteer, mentions, covered, via="name")
    _scan_crs(text, tokens, gazetteer, mentions, covered)
    if not all(covered):
        fuzzy = _Fuzzy(gazetteer)
        corrected = list(words)
        changed = False
        for k, w in enumerate(words):
            if not covered[k]:
                fix = fuzzy.correct(w)
                if fix is not None:
                    corrected[k] = fix
                    changed = True
        if changed:
            _merge_fuzzy(text, tokens, words, corrected, gazetteer, mentions, covered)
    mentions.sort(key=lambda m: m.start)
    return mentions


def _merge_fuzzy(
    text: str,
    tokens: list[Token],
    words: list[str],
    corrected: list[str],
    g: Gazetteer,
    mentions: list[Mention],
    covered: list[bool],
) -> None:
    """Scan again with typos corrected; a corrected window may replace shorter exact finds
    ("at milton keyens": "milton keynes" over "milton")."""
    in_mentions = {k for m in mentions for k in range(m.first_token, m.last_token)}
    blocked = [c and k not in in_mentions for k, c in enumerate(covered)]  # "oxford circus"
    found: list[Mention] = []
    _scan(text, tokens, corrected, g, found, blocked, via="fuzzy", original=words)
    for fm in found:
        size = fm.last_token - fm.first_token
        overlapped = [
            m for m in mentions if m.first_token < fm.last_token and fm.first_token < m.last_token
        ]
        if all(m.last_token - m.first_token < size for m in overlapped):
            for m in overlapped:
                mentions.remove(m)
            mentions.append(fm)


def _scan(
    text: str,
    tokens: list[Token],
    words: list[str],
    g: Gazetteer,
    out: list[Mention],
    covered: list[bool],
    via: str,
    original: list[str] | None = None,
) -> None:
    n = len(words)
    i = 0
    while i < n:
        if covered[i]:
            i += 1
            continue
        longest = g.starts.get(words[i], 0)
        found = False
        for length in range(min(longest, n - i), 0, -1):
            j = i + length
            if True in covered[i:j]:
                continue
            if original is not None and words[i:j] == original[i:j]:
                continue  # nothing corrected in this window: the exact pass saw it already
            entry = g.entry(" ".join(words[i:j]))
            if entry is None:
                continue
            if not entry.stations:  # "oxford circus", "piccadilly line": consumed, not a station
                for k in range(i, j):
                    covered[k] = True
                i = j
                found = True
                break
            cue = _cue(tokens, i, j, covered)
            # A corrected window counts as one word unless two of its words carry meaning:
            # "finsbry park" is a name, "in fairness" is not "in furness".
            fuzzy_single = via == "fuzzy" and sum(w not in _LINK_WORDS for w in words[i:j]) < 2
            if not _accept(entry, cue, fuzzy_single, (original or words)[i], words[i]):
                continue
            out.append(Mention(tokens[i].start, tokens[j - 1].end, i, j, entry, cue, via))
            for k in range(i, j):
                covered[k] = True
            i = j
            found = True
            break
        if not found:
            i += 1


_CRS_RE = re.compile(r"\b[A-Za-z]{3}\b")


def _scan_crs(
    text: str, tokens: list[Token], g: Gazetteer, out: list[Mention], covered: list[bool]
) -> None:
    letters = [w for w in re.findall(r"[A-Za-z]{2,}", text)]
    shouting = len(letters) >= 3 and sum(w.isupper() for w in letters) * 2 > len(letters)
    for k, tok in enumerate(tokens):
        if covered[k] or len(tok.text) != 3 or tok.end - tok.start != 3:
            continue
        raw = text[tok.start : tok.end]
        if not raw.isalpha():
            continue
        station = g.by_crs.get(raw.upper())
        if station is None:
            continue
        cue = _cue(tokens, k, k + 1)
        ordinary = (
            tok.text in _CAPS_WORDS or tok.text in g.words.common or tok.text in g.words.needs_cue
        )
        before = tokens[k - 1].text if k else ""
        after = tokens[k + 1].text if k + 1 < len(tokens) else ""
        if raw.isupper():
            explicit = before == "at" or after in ("station", "stn", "platform")
            if (shouting or ordinary) and not explicit:
                continue
        elif ordinary or after not in ("station", "stn"):
            continue  # lower case: "kgx station" yes, "at bay", "at sea" no
        entry = NameEntry("crs", (station,))
        out.append(Mention(tok.start, tok.end, k, k + 1, entry, cue or "strong", "crs"))
        covered[k] = True
