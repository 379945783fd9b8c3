"""Small, predictable stand-ins for the extractors, so engine tests test the engine only.

They understand just the phrases the engine tests use. The golden transcripts
(test_golden.py) run the real extractors instead.
"""

from __future__ import annotations

import re

from app.conversation.engine import Engine, Readers
from app.conversation.facts import Age, Concept, ImmediacyFact, Location, Risk
from app.conversation.wording import load_wording
from app.gazetteer.model import StationRef

CLJ = StationRef("Clapham Junction", "CLJ")
LDS = StationRef("Leeds", "LDS")
AFK = StationRef("Ashford International", "AFK")
AFS = StationRef("Ashford (Surrey)", "AFS")

_STATIONS = {"clapham jn": CLJ, "leeds": LDS, "ashford international": AFK}
_AMBIGUOUS = {"ashford": (AFK, AFS)}


def extract_location(text: str, gazetteer: object) -> Location | None:
    low = text.lower()
    platform = re.search(r"\bplat(?:form)? (\d+)", low)
    coach = re.search(r"\bcoach ([a-z0-9])\b", low)
    station = next((s for name, s in _STATIONS.items() if name in low), None)
    candidates = () if station else next((c for n, c in _AMBIGUOUS.items() if n in low), ())
    train = "train" if "on the train" in low else None
    if not (station or candidates or platform or coach or train):
        return None
    return Location(
        text=text,
        station=station,
        candidates=candidates,
        platform=platform.group(1) if platform else None,
        train=train,
        coach=coach.group(1).upper() if coach else None,
    )


def resolve_choice(text: str, candidates: tuple[StationRef, ...], gazetteer: object):
    low = text.strip().lower()
    if low.isdigit() and 1 <= int(low) <= len(candidates):
        return candidates[int(low) - 1]
    if "kent" in low:
        return next((c for c in candidates if c.crs == "AFK"), None)
    return next((c for c in candidates if c.name.lower() in low), None)


def extract_age(text: str, *, answering: bool | None = None) -> Age | None:
    low = text.lower()
    m = re.search(
        r"(?<!platform )(?<!plat )(?<!coach )\b(?:about |maybe )?(\d{1,2})\b(?! ?mins)", low
    )
    if not m or re.search(r"\d:\d", low):
        return None
    n = int(m.group(1))
    return Age(text=m.group(0), min=n, max=n, child=n < 18)


def extract_immediacy(text: str, *, answering: bool = False) -> ImmediacyFact | None:
    low = text.lower()
    if "now" in low.split() or "right now" in low:
        return ImmediacyFact("now", "now")
    if "mins ago" in low:
        return ImmediacyFact("recent", "mins ago")
    if "yesterday" in low:
        return ImmediacyFact("past", "yesterday")
    if answering and low.strip() in {"yes", "yeah", "yep"}:
        return ImmediacyFact("now", low.strip())
    return None


def extract_risks(text: str) -> tuple[Risk, ...]:
    low = text.lower()
    found = []
    for word, indicator in (
        ("knife", "weapon"),
        ("hitting", "violence"),
        ("packages", "exploitation"),
    ):
        if word in low:
            found.append(Risk(indicator, word))
    return tuple(found)


# Words that tell what is happening or who it is about; a first text with none of them
# ("hello", "york station") gets "What is happening?".
_TOLD = ("help", "trouble", "lad", "man", "woman", "girl", "kid", "someone", "scared")


def read_concepts(text: str) -> tuple[Concept, ...]:
    low = text.lower()
    found = [Concept("concern", w) for w in _TOLD if re.search(rf"\b{w}\b", low)][:1]
    if "next to me" in low:
        found.append(Concept("presence", "next to me"))
    if "thanks" in low:
        found.append(Concept("thanks_only", "thanks"))
    return tuple(found)


def conversation_risks(concepts: tuple[Concept, ...], child: bool | None) -> tuple[Risk, ...]:
    """Stands in for the rules across texts: a child and a parcel, in any texts."""
    names = {c.name for c in concepts}
    return (Risk("exploitation", "child ... parcel"),) if child and "parcel" in names else ()


def detect_intents(text: str) -> frozenset[str]:
    low = text.strip().lower()
    found = set()
    if low in {"stop", "unsubscribe", "end"}:
        found.add("stop")
    if low in {"start", "yes", "unstop"}:
        found.add("start")
    if low == "help":
        found.add("help")
    if "cant talk" in low or "dont text" in low:
        found.add("discreet")
    if "dont know" in low or "not sure" in low:
        found.add("dont_know")
    return frozenset(found)


FAKE_READERS = Readers(
    extract_location,
    resolve_choice,
    extract_age,
    extract_immediacy,
    extract_risks,
    detect_intents,
    read_concepts,
    conversation_risks,
)


def fake_engine() -> Engine:
    return Engine(None, load_wording(None), readers=FAKE_READERS)
