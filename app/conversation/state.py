"""The state of one case's intake conversation: a frozen value the host stores as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

from app.conversation.facts import Age, Facts, unnamed_train
from app.gazetteer.model import StationRef

ASKING_WHAT = "asking_what"
ASKING_LOCATION = "asking_location"
CONFIRMING_LOCATION = "confirming_location"
ASKING_AGE = "asking_age"
ASKING_IMMEDIACY = "asking_immediacy"
DONE = "done"
CONVERSATIONS = (
    ASKING_WHAT, ASKING_LOCATION, CONFIRMING_LOCATION, ASKING_AGE, ASKING_IMMEDIACY, DONE
)
QUESTIONS = CONVERSATIONS[:-1]

# Which fact each question asks for; `State.closed` holds these names.
FACT_OF = {
    ASKING_WHAT: "what",
    ASKING_LOCATION: "location",
    CONFIRMING_LOCATION: "location",
    ASKING_AGE: "age",
    ASKING_IMMEDIACY: "immediacy",
}

STATE_VERSION = 1


@dataclass(frozen=True)
class State:
    reference: str
    conversation: str = ASKING_LOCATION
    facts: Facts = field(default_factory=Facts)
    discreet: bool = False
    opted_out: bool = False
    operator_engaged: bool = False
    emergency: bool = False  # set through Engine.flag_emergency when dispatch decides 999
    acknowledged: bool = False  # the first reply (reference, 999 line) has gone out
    reopen_due: bool = False  # the next reply starts by saying the case was reopened
    severe_advised: bool = False  # the "call 999 if you safely can" advice has gone out
    emergency_advised: bool = False  # the "call 999 now" advice has gone out
    timed_out: bool = False  # the bot stopped asking for want of an answer
    asks: int = 0  # how many times the current question has been put
    closed: tuple[str, ...] = ()  # facts settled without a usable value: don't know, raw kept
    choices: tuple[StationRef, ...] = ()  # the numbered stations offered while confirming
    last_asked: str | None = None  # the question most recently put
    asked_at: str | None = None  # ISO 8601 time it was put, for the silence timeout
    # The conversation's language (BCP 47: "en", "cy", "pl"...; None until a text in words),
    # and the language of the last text in words (a second running in another switches).
    language: str | None = None
    language_last: str | None = None
    interpreter_offered: bool = False  # the line saying an interpreter can be arranged has gone

    def __post_init__(self) -> None:
        if self.conversation not in CONVERSATIONS:
            raise ValueError(f"unknown conversation state {self.conversation!r}")

    @classmethod
    def initial(cls, reference: str) -> State:
        return cls(reference=reference)

    @property
    def can_ask(self) -> bool:
        return not (self.discreet or self.opted_out or self.operator_engaged)

    @property
    def can_text(self) -> bool:
        return not (self.discreet or self.opted_out)

    def to_dict(self) -> dict[str, Any]:
        data = _plain(self)
        data["version"] = STATE_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        """Reads what to_dict wrote; keys it does not know are ignored, missing ones default."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["facts"] = Facts.from_dict(data.get("facts"))
        values["choices"] = tuple(StationRef(**c) for c in data.get("choices") or ())
        values["closed"] = tuple(data.get("closed") or ())
        return cls(**values)

    def with_(self, **changes: Any) -> State:
        return replace(self, **changes)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """A dataclass as JSON gives it back: a dict of its fields, lists where it keeps tuples, so
    that to_dict() equals its own JSON round trip. What asdict() and a pass turning tuples into
    lists made, at a third of the cost: the state is stored on every text read."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is tuple or kind is list:
        return [_plain(v) for v in value]
    if kind is dict:
        return {k: _plain(v) for k, v in value.items()}
    names = _FIELDS.get(kind)
    if names is None:
        if not is_dataclass(kind):
            return value
        names = _FIELDS[kind] = tuple(f.name for f in fields(kind))
    return {name: _plain(getattr(value, name)) for name in names}


_FIELDS: dict[type, tuple[str, ...]] = {}  # each dataclass's field names, in order


def missing(facts: Facts, closed: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The questions still to put, in the order they are asked."""
    todo: list[str] = []
    if "what" not in closed and not names_concern(facts):
        todo.append(ASKING_WHAT)
    loc = facts.location
    if "location" not in closed and (loc is None or (loc.station is None and unnamed_train(loc.train))):
        todo.append(CONFIRMING_LOCATION if loc is not None and loc.candidates else ASKING_LOCATION)
    if "age" not in closed and age_unsettled(facts.age):
        todo.append(ASKING_AGE)
    if "immediacy" not in closed and facts.immediacy is None:
        todo.append(ASKING_IMMEDIACY)
    return tuple(todo)


def names_concern(facts: Facts) -> bool:
    """The texts say what is wrong: a risk indicator, or a worry in words ("not right").
    Otherwise the bot asks what is happening ("man on the footbridge at stockport")."""
    return bool(facts.risks) or any(c.name == "concern" for c in facts.concepts)


def age_unsettled(age: Age | None) -> bool:
    """No age, or only a wide one that leaves child or adult open ("a teen", "students"):
    worth asking once. "About 18" is as settled as an age gets."""
    if age is None:
        return True
    if age.child is not None or age.min is None or age.max is None:
        return False
    return age.max - age.min >= 4


def next_question(state: State) -> str:
    """What the bot should be waiting for now: the first missing fact, or done."""
    if not state.can_ask:
        return DONE
    todo = missing(state.facts, state.closed)
    return todo[0] if todo else DONE
