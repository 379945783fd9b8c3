"""The facts a conversation gathers, each with the words it came from.

Shared vocabulary of the pure parts: extractors produce these, the conversation engine
keeps them in its state, the dispatcher decides on them, and the case service stores and
renders them. Plain frozen dataclasses, JSON round-trippable, no database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from app.gazetteer.model import StationRef

Immediacy = Literal["now", "recent", "past", "unknown"]

RISK_INDICATORS = (
    "weapon",
    "violence",
    "sexual",
    "abduction",
    "self_harm",
    "danger_to_life",
    "exploitation",
    "vulnerability",
    "drugs",
    "harassment",
    "theft",
    "antisocial",
)
SEVERE_INDICATORS = frozenset(
    {"weapon", "violence", "sexual", "abduction", "self_harm", "danger_to_life"}
)


@dataclass(frozen=True)
class Location:
    text: str  # the words it came from
    station: StationRef | None = None
    candidates: tuple[StationRef, ...] = ()  # several stations fit: to be confirmed
    platform: str | None = None
    train: str | None = None  # e.g. "14:32 York to Leeds"
    coach: str | None = None


@dataclass(frozen=True)
class Age:
    text: str
    min: int | None = None
    max: int | None = None
    child: bool | None = None  # judged under 18; None when unknown


@dataclass(frozen=True)
class ImmediacyFact:
    value: Immediacy
    text: str


@dataclass(frozen=True)
class Risk:
    indicator: str  # one of RISK_INDICATORS
    evidence: str


@dataclass(frozen=True)
class Concept:
    name: str  # a concept of app/conversation/concepts.yaml
    evidence: str


@dataclass(frozen=True)
class Facts:
    location: Location | None = None
    age: Age | None = None
    immediacy: ImmediacyFact | None = None
    risks: tuple[Risk, ...] = field(default_factory=tuple)
    # Every concept seen in the conversation's texts, for the rules that read across texts.
    concepts: tuple[Concept, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Facts:
        if not data:
            return cls()
        loc = data.get("location")
        location = None
        if loc:
            st = loc.get("station")
            location = Location(
                text=loc["text"],
                station=StationRef(**st) if st else None,
                candidates=tuple(StationRef(**c) for c in loc.get("candidates") or ()),
                platform=loc.get("platform"),
                train=loc.get("train"),
                coach=loc.get("coach"),
            )
        age = Age(**data["age"]) if data.get("age") else None
        imm = ImmediacyFact(**data["immediacy"]) if data.get("immediacy") else None
        risks = tuple(Risk(**r) for r in data.get("risks") or ())
        concepts = tuple(Concept(**c) for c in data.get("concepts") or ())
        return cls(location=location, age=age, immediacy=imm, risks=risks, concepts=concepts)


_TRAIN_FILLER = frozenset("on in the this a my our same train trains".split())


def unnamed_train(train: str | None) -> bool:
    """No train, or one that says only that it is a train ("on the train"): an operator
    cannot find it, so where is still worth asking."""
    return train is None or not set(train.lower().split()) - _TRAIN_FILLER
