"""decide(): which rule fires for a case's facts, and why. Pure: no database, clock or I/O.

Unknown facts never satisfy a condition that needs them: a child whose age is not known is
neither `child: true` nor `child: false`, and an unanswered "is it happening now?" matches no
`immediacy`. The rules file orders the rules so that a case is first judged on what is known.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from app.conversation.facts import Facts
from app.dispatch.rules import Conditions, Rules

_IMMEDIACY_WORDS = {
    "now": "happening now",
    "recent": "recent",
    "past": "in the past",
    "unknown": "time not known",
}


@dataclass(frozen=True)
class DispatchFacts:
    """What the dispatcher decides on: a case's facts, flattened, plus the reporter and the hour."""

    immediacy: str | None = None
    risks: frozenset[str] = frozenset()
    evidence: tuple[tuple[str, str], ...] = ()  # (indicator, the words it came from)
    child: bool | None = None
    age_min: int | None = None
    age_max: int | None = None
    age_text: str | None = None
    station_crs: str | None = None
    station_name: str | None = None
    area: str | None = None
    language: str | None = None  # the conversation's, BCP 47; None until a text in words
    discreet: bool = False
    local_time: dt.time | None = None
    concern: str | None = None  # the words of a worry no indicator names ("looks scared")
    help_present: str | None = None  # someone responsible is with them ("staff are with him")
    harmless: str | None = None  # the texter says it is harmless ("its just a video")
    # told as just done ("he has just pushed her into a car"), and nothing says they have gone
    just_done: str | None = None
    reads_as_emergency: str | None = None  # the learned reader's words (extract/reader.py)

    @classmethod
    def from_facts(
        cls, facts: Facts, *, discreet: bool, local_time: dt.time | None,
        language: str | None = None,
    ) -> DispatchFacts:
        evidence: dict[str, str] = {}
        for risk in facts.risks:
            evidence.setdefault(risk.indicator, risk.evidence)  # the first words that showed it
        age = facts.age
        station = facts.location.station if facts.location else None
        return cls(
            immediacy=facts.immediacy.value if facts.immediacy else None,
            risks=frozenset(evidence),
            evidence=tuple(evidence.items()),
            child=age.child if age else None,
            age_min=age.min if age else None,
            age_max=age.max if age else None,
            age_text=age.text if age else None,
            station_crs=station.crs.upper() if station else None,
            station_name=station.name if station else None,
            area=station.area.upper() if station and station.area else None,
            language=language,
            discreet=discreet,
            local_time=local_time,
            concern=next((c.evidence for c in facts.concepts if c.name == "concern"), None),
            help_present=next((c.evidence for c in facts.concepts if c.name == "in_hand"), None),
            harmless=next((c.evidence for c in facts.concepts if c.name == "harmless"), None),
            just_done=_just_done(facts),
            reads_as_emergency=next(
                (c.evidence for c in facts.concepts if c.name == "reads_as_emergency"), None
            ),
        )

    def evidence_for(self, indicator: str) -> str | None:
        return next((words for ind, words in self.evidence if ind == indicator), None)


@dataclass(frozen=True)
class Decision:
    decision: str  # "999" or "101"
    queue: str
    priority: str  # P1, P2 or P3
    rule: str  # the name of the rule that fired
    reasons: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "queue": self.queue,
            "priority": self.priority,
            "rule": self.rule,
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        return cls(
            decision=data["decision"],
            queue=data["queue"],
            priority=data["priority"],
            rule=data["rule"],
            reasons=tuple(data.get("reasons") or ()),
        )


# Languages the bot writes in; `language: [other]` in a rule is any language but these.
ANSWERED_IN = frozenset({"en", "cy"})


def _speaks(language: str | None, wanted: tuple[str, ...]) -> bool:
    if language is None:
        return False
    return language in wanted or ("other" in wanted and language not in ANSWERED_IN)


def decide(facts: DispatchFacts, rules: Rules) -> Decision:
    """The first rule whose conditions hold decides; its reasons are the facts that made it hold."""
    for rule in rules.rules:
        reasons = match(rule.when, facts)
        if reasons is None:
            continue
        lead = [rule.reason] if rule.reason else []
        reasons.sort(key=_reason_order)  # when, then who, then the rest, however nested
        return Decision(
            decision=rule.then.decision,
            queue=rule.then.queue,
            priority=rule.then.priority,
            rule=rule.name or "",  # load_rules() names every rule
            reasons=tuple(dict.fromkeys(lead + reasons)),
        )
    # load_rules() refuses a file whose last rule is not a catch-all.
    raise AssertionError(f"no rule matched in {rules.source}")


def escalation_only(previous: Decision | None, new: Decision) -> Decision | None:
    """The decision the dispatcher should record now, or None when the record stands.

    The dispatcher may raise a 101 to a 999 and may move a 101 between queues and priorities
    (P2 to P3 too: a "child" who turns out to be an adult). It never lowers a 999 to a 101:
    once a case has been flagged as an emergency, only a person may stand it down, with a
    reason (POST /api/cases/{id}/decision). A 999 may move to another 999 queue. A new rule
    or new reasons with the same decision, queue and priority change nothing. Whether the
    dispatcher may overrule a person's decision at all is for the caller to say.
    """
    if previous is None:
        return new
    if previous.decision == "999" and new.decision != "999":
        return None
    same = (previous.decision, previous.queue, previous.priority) == (
        new.decision,
        new.queue,
        new.priority,
    )
    return None if same else new


def _just_done(facts: Facts) -> str | None:
    names = {c.name: c.evidence for c in facts.concepts}
    return None if "gone" in names else names.get("just_done")


def match(when: Conditions, facts: DispatchFacts) -> list[str] | None:
    """The reasons `when` holds for `facts`, or None when it does not.

    Reasons come in a fixed order whatever the file's order: when, who, what, where, the
    reporter, the hour.
    """
    reasons: list[str] = []
    if when.immediacy is not None:
        if facts.immediacy not in when.immediacy:
            return None
        reasons.append(_IMMEDIACY_WORDS.get(facts.immediacy, facts.immediacy))
    if when.child is not None:
        if facts.child is None or facts.child != when.child:
            return None
        reasons.append(_person(facts))
    if when.age_min_at_least is not None:
        if facts.age_min is None or facts.age_min < when.age_min_at_least:
            return None
        reasons.append(f"aged {when.age_min_at_least} or over ({_age_words(facts)})")
    if when.age_max_below is not None:
        if facts.age_max is None or facts.age_max >= when.age_max_below:
            return None
        reasons.append(f"under {when.age_max_below} ({_age_words(facts)})")
    if when.risk_any is not None:
        seen = [ind for ind in when.risk_any if ind in facts.risks]
        if not seen:
            return None
        reasons.extend(_risk(facts, ind) for ind in seen)
    if when.risk_all is not None:
        if not facts.risks.issuperset(when.risk_all):
            return None
        reasons.extend(_risk(facts, ind) for ind in when.risk_all)
    if when.risk_none is not None:
        if facts.risks.intersection(when.risk_none):
            return None
        reasons.append("no " + " or ".join(_words(ind) for ind in when.risk_none))
    if when.station is not None:
        if facts.station_crs not in when.station:
            return None
        name = facts.station_name or facts.station_crs
        reasons.append(f"at {name} ({facts.station_crs})")
    if when.area is not None:
        if facts.area not in when.area:
            return None
        reasons.append(f"area {facts.area}")
    if when.language is not None:
        if not _speaks(facts.language, when.language):
            return None
        reasons.append(f"language {facts.language}")
    if when.discreet is not None:
        if facts.discreet != when.discreet:
            return None
        reasons.append("texter can't talk freely" if facts.discreet else "texter can talk")
    if when.concern is not None:
        if (facts.concern is not None) != when.concern:
            return None
        reasons.append(f"concern: '{facts.concern}'" if facts.concern else "no concern in words")
    if when.reads_as_emergency is not None:
        if (facts.reads_as_emergency is not None) != when.reads_as_emergency:
            return None
        if facts.reads_as_emergency:
            reasons.append(f"reads as an emergency: '{facts.reads_as_emergency}'")
    if when.help_present is not None:
        if (facts.help_present is not None) != when.help_present:
            return None
        reasons.append(f"help with them: '{facts.help_present}'" if facts.help_present
                       else "no one responsible with them")
    if when.just_done is not None:
        if (facts.just_done is not None) != when.just_done:
            return None
        reasons.append(f"just done: '{facts.just_done}'" if facts.just_done else "not just done")
    if when.harmless is not None:
        if (facts.harmless is not None) != when.harmless:
            return None
        reasons.append(f"texter says: '{facts.harmless}'" if facts.harmless else "not called harmless")
    if when.time_between is not None:
        start, end = when.time_between
        if facts.local_time is None or not _between(facts.local_time, start, end):
            return None
        reasons.append(f"{facts.local_time:%H:%M}, between {start:%H:%M} and {end:%H:%M}")
    if when.any_of is not None:
        for block in when.any_of:
            found = match(block, facts)
            if found is not None:
                reasons.extend(found)
                break
        else:
            return None
    if when.all_of is not None:
        for block in when.all_of:
            found = match(block, facts)
            if found is None:
                return None
            reasons.extend(found)
    if when.none_of is not None and any(match(b, facts) is not None for b in when.none_of):
        return None
    return reasons


def _reason_order(reason: str) -> int:
    if reason in _IMMEDIACY_WORDS.values():
        return 0
    return 1 if reason.startswith(("child", "adult", "aged ", "under ")) else 2


def _between(t: dt.time, start: dt.time, end: dt.time) -> bool:
    if start < end:
        return start <= t < end
    return t >= start or t < end  # wraps midnight


def _words(indicator: str) -> str:
    return indicator.replace("_", "-")


def _risk(facts: DispatchFacts, indicator: str) -> str:
    words = facts.evidence_for(indicator)
    return f"{_words(indicator)}: '{words}'" if words else _words(indicator)


def _age_words(facts: DispatchFacts) -> str:
    text = (facts.age_text or "").strip()
    if text and len(text) <= 30:
        return text
    lo, hi = facts.age_min, facts.age_max
    if lo is not None and hi is not None:
        return str(lo) if lo == hi else f"{lo} to {hi}"
    if lo is not None:
        return f"{lo} or over"
    if hi is not None:
        return f"under {hi + 1}"
    return "age not given"


def _person(facts: DispatchFacts) -> str:
    who = "child" if facts.child else "adult"
    age = _age_words(facts)
    return who if age == "age not given" else f"{who} ({age})"
