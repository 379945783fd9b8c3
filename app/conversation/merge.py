"""Folding what one text says into what the conversation already knows.

The rule is conservative: a fact already known is replaced only by an answer to the question
that asks for it, or by something strictly more specific (a station for a list of candidates,
an age range for "don't know"). A later text that merely mentions another station ("he got on
the train to leeds") or another age ("his mum is 40") does not overwrite what was answered.
Two exceptions follow the people: a later platform or coach replaces the earlier one (they
move), and a later "happening now" always counts, because a 101 case can become a 999 one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.conversation.facts import Age, Concept, Facts, ImmediacyFact, Location, Risk, unnamed_train


@dataclass(frozen=True)
class Found:
    """What the extractors read in one text."""

    location: Location | None = None
    age: Age | None = None
    immediacy: ImmediacyFact | None = None
    risks: tuple[Risk, ...] = ()
    concepts: tuple[Concept, ...] = ()


def _join(old: str, new: str) -> str:
    if not old:
        return new
    if not new or new.lower() in old.lower():
        return old
    return f"{old}; {new}"


def merge_location(old: Location | None, new: Location | None, answering: bool) -> Location | None:
    if new is None:
        return old
    if old is None:
        return new
    station = old.station
    if new.station is not None and (old.station is None or answering):
        station = new.station
    if station is not None:
        candidates: tuple = ()
    elif new.candidates and (answering or not old.candidates):
        candidates = new.candidates
    else:
        candidates = old.candidates

    # Platform and coach are where someone is now: a later one wins, unless it came with
    # another station ("his mate is on platform 2 at leeds"). A train is only taken while no
    # station is known ("take it on the train" is not where the texter is).
    elsewhere = new.station is not None and new.station != station
    here = None if elsewhere else new
    train = old.train
    if new.train is not None and (answering or (unnamed_train(old.train) and old.station is None)):
        train = new.train
    merged = Location(
        text=old.text,
        station=station,
        candidates=candidates,
        platform=(here.platform if here and here.platform else None) or old.platform,
        train=train,
        coach=(here.coach if here and here.coach else None) or old.coach,
    )
    if merged == old:
        return old
    return replace(merged, text=_join(old.text, new.text))


def _has_value(age: Age) -> bool:
    return age.min is not None or age.max is not None or age.child is not None


def merge_age(old: Age | None, new: Age | None, answering: bool) -> Age | None:
    if new is None:
        return old
    if old is None:
        return new
    if _has_value(new) and (answering or not _has_value(old)):
        return new
    return old


def merge_immediacy(
    old: ImmediacyFact | None, new: ImmediacyFact | None, answering: bool
) -> ImmediacyFact | None:
    if new is None:
        return old
    if old is None:
        return new
    if new.value == "unknown":
        return old
    if answering or old.value == "unknown" or (new.value == "now" and old.value != "now"):
        return new
    return old


def merge_risks(old: tuple[Risk, ...], new: tuple[Risk, ...]) -> tuple[Risk, ...]:
    seen = {r.indicator for r in old}
    added = []
    for risk in new:
        if risk.indicator not in seen:
            seen.add(risk.indicator)
            added.append(risk)
    return old + tuple(added)


def merge_concepts(old: tuple[Concept, ...], new: tuple[Concept, ...]) -> tuple[Concept, ...]:
    seen = {c.name for c in old}
    return old + tuple(c for c in new if c.name not in seen and not seen.add(c.name))  # type: ignore[func-returns-value]


def merge(facts: Facts, found: Found, answering: str | None) -> Facts:
    """`answering` is the fact being asked for ("location", "age", "immediacy") or None."""
    return Facts(
        location=merge_location(facts.location, found.location, answering == "location"),
        age=merge_age(facts.age, found.age, answering == "age"),
        immediacy=merge_immediacy(facts.immediacy, found.immediacy, answering == "immediacy"),
        risks=merge_risks(facts.risks, found.risks),
        concepts=merge_concepts(facts.concepts, found.concepts),
    )


def keep_raw(facts: Facts, fact: str, text: str) -> Facts:
    """Settle a fact with the texter's own words when they cannot be read (or "don't know")."""
    text = text.strip()
    if fact == "location":
        loc = facts.location
        kept = Location(text=text) if loc is None else replace(loc, text=_join(loc.text, text))
        return replace(facts, location=kept)
    if fact == "age":
        return facts if facts.age is not None else replace(facts, age=Age(text=text))
    if fact == "immediacy":
        if facts.immediacy is not None:
            return facts
        return replace(facts, immediacy=ImmediacyFact(value="unknown", text=text))
    raise ValueError(f"unknown fact {fact!r}")
