"""Whether two reports are of the same thing: the place, the time apart, the risks, the words.

Pure: facts and times in, a verdict with its rule and evidence out. A strong match (same place,
same risk indicator, close in time) is linked at once; a weaker one is only put to an operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

STRONG_MINUTES = 10
STRONG = "same-place-same-risk"  # linked at once
WEAK_RISK = "same-place-same-risk-later"  # the same risk, beyond STRONG_MINUTES: asked
WEAK_WORDS = "same-place-same-words"  # no risk in common, but the same description: asked
SHARED_WORDS = 2  # description words two reports must share to be put to an operator

# "14:32 York to Leeds": a departure, an origin and a destination name one service; "on the
# train" names none.
_SERVICE = re.compile(r"^\d{1,2}:\d{2} .+ to .+$")
_WORD = re.compile(r"[a-z]{4,}")
# Words too common in any report to say two reports describe the same thing.
_COMMON = frozenset("""
    about after again also been being cant come coming could dont down each from going gonna have
    help here just know like look looks looking many more much need next other please police really
    right said says some someone something still than that thats their them then there theres
    these they think this those train trains want were what when where which while with would
    your youre station platform coach carriage people person because anyone everyone
    """.split())


@dataclass(frozen=True)
class Place:
    key: str  # "station:CLJ" or "train:14:32 york to leeds"
    coach: str | None = None


@dataclass(frozen=True)
class Report:
    """What matching needs of one case."""

    case_id: int
    reference: str
    place: Place | None
    indicators: frozenset[str]
    words: frozenset[str]
    at: datetime  # its latest text
    incident_id: int | None = None
    held: bool = False  # a person split it off an incident: only ever proposed, never linked


@dataclass(frozen=True)
class Match:
    other: Report
    rule: str
    strong: bool
    evidence: dict[str, Any] = field(default_factory=dict)


def place_of(facts: dict[str, Any] | None) -> Place | None:
    """The train service once it is known, else the station; None where neither is."""
    loc = (facts or {}).get("location") or {}
    train = " ".join(str(loc.get("train") or "").lower().split())
    coach = (str(loc["coach"]).upper() if loc.get("coach") else None)
    if train and _SERVICE.match(train):
        return Place(f"train:{train}"[:120], coach)
    station = loc.get("station") or {}
    if station.get("crs"):
        return Place(f"station:{station['crs']}", None)
    return None


def indicators_of(facts: dict[str, Any] | None) -> frozenset[str]:
    return frozenset(r["indicator"] for r in (facts or {}).get("risks") or ())


def words_of(text: str, leave_out: str = "") -> frozenset[str]:
    """The describing words of a text: not the place (both reports name it), nor filler."""
    skip = set(_WORD.findall(leave_out.lower()))
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _COMMON and w not in skip)


def judge(new: Report, other: Report, window: timedelta) -> Match | None:
    """Whether `other` may be the same thing as `new`, and how sure that is."""
    if new.place is None or other.place is None or new.place.key != other.place.key:
        return None
    if new.case_id == other.case_id:
        return None
    apart = abs(new.at - other.at)
    if apart > window:
        return None
    minutes = round(apart.total_seconds() / 60, 1)
    evidence: dict[str, Any] = {"place": new.place.key, "minutes_apart": minutes}
    coaches = {new.place.coach, other.place.coach} - {None}
    if coaches:
        evidence["coaches"] = sorted(coaches)
    shared = sorted(new.indicators & other.indicators)
    if shared:
        evidence["indicators"] = shared
        # Two coaches named and not the same: perhaps two things on one train; ask.
        strong = (apart <= timedelta(minutes=STRONG_MINUTES) and len(coaches) <= 1
                  and not new.held and not other.held)
        return Match(other, STRONG if strong else WEAK_RISK, strong, evidence)
    words = sorted(new.words & other.words)
    if len(words) >= SHARED_WORDS:
        # The same people described ("red hoodie", "two lads") under different risks, or none:
        # perhaps one thing seen twice, perhaps two; a person decides.
        return Match(other, WEAK_WORDS, False, {**evidence, "words": words[:10]})
    return None


def best(matches: list[Match]) -> Match | None:
    """The strong match to link to: one already in an incident first, then the closest."""
    strong = [m for m in matches if m.strong]
    if not strong:
        return None
    return min(strong, key=lambda m: (m.other.incident_id is None,
                                      m.evidence.get("minutes_apart", 0), -m.other.case_id))
