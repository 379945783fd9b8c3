"""The built-in routing rules, rule by rule and at their edges; reasons; escalation."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.conversation.facts import (
    RISK_INDICATORS,
    SEVERE_INDICATORS,
    Age,
    Facts,
    ImmediacyFact,
    Location,
    Risk,
)
from app.dispatch.decide import Decision, DispatchFacts, decide, escalation_only
from app.dispatch.rules import load_rules
from app.gazetteer.model import StationRef

BUILTIN = load_rules(None)
HARM = sorted(SEVERE_INDICATORS | {"exploitation", "vulnerability"})
NOT_HARM = sorted(set(RISK_INDICATORS) - set(HARM))  # drugs, harassment, theft, antisocial


def facts(
    immediacy: str | None = None,
    risks: tuple[str, ...] = (),
    child: bool | None = None,
    **kw: object,
) -> DispatchFacts:
    return DispatchFacts(
        immediacy=immediacy,
        risks=frozenset(risks),
        evidence=tuple((r, f"{r} words") for r in risks),
        child=child,
        **kw,  # type: ignore[arg-type]
    )


E999 = ("999", "emergency", "P1")
SAFE = ("101", "safeguarding", "P2")
GEN2 = ("101", "general", "P2")
GEN3 = ("101", "general", "P3")

# (immediacy, risks, child, expected outcome, expected rule)
TABLE: list[tuple[str | None, tuple[str, ...], bool | None, tuple[str, str, str], str]] = [
    # Rule 1: happening now and each severe indicator, whatever the age.
    *[
        ("now", (ind,), child, E999, "severe-now")
        for ind in sorted(SEVERE_INDICATORS)
        for child in (True, False, None)
    ],
    # Rule 1, second half: a weapon, a suicide risk or a life at risk counts when recent.
    *[
        ("recent", (ind,), child, E999, "severe-now")
        for ind in ("weapon", "self_harm", "danger_to_life")
        for child in (None, False, True)
    ],
    *[
        ("recent", (ind,), False, GEN2, "now-or-recent")
        for ind in sorted(SEVERE_INDICATORS - {"weapon", "self_harm", "danger_to_life"})
    ],
    *[
        ("recent", (ind,), True, SAFE, "child-safeguarding")
        for ind in sorted(SEVERE_INDICATORS - {"weapon", "self_harm", "danger_to_life"})
    ],
    # A severe indicator in the past or at an unknown time is not an emergency.
    ("past", ("weapon",), False, GEN3, "routine"),
    ("unknown", ("weapon",), False, GEN3, "routine"),
    (None, ("weapon",), False, GEN3, "routine"),
    (None, ("violence",), None, GEN3, "routine"),
    # Rule 2: now, a child, exploitation or vulnerability.
    ("now", ("exploitation",), True, E999, "child-at-risk-now"),
    ("now", ("vulnerability",), True, E999, "child-at-risk-now"),
    ("now", ("exploitation", "drugs"), True, E999, "child-at-risk-now"),
    # ...an adult, or an age not known, is not rule 2.
    ("now", ("exploitation",), False, GEN2, "now-or-recent"),
    ("now", ("vulnerability",), False, GEN2, "now-or-recent"),
    ("now", ("exploitation",), None, GEN2, "now-or-recent"),
    ("now", ("vulnerability",), None, GEN2, "now-or-recent"),
    # Rule 3: a child and any harm indicator, not happening now (recent, past, unknown, unasked).
    *[
        (imm, (ind,), True, SAFE, "child-safeguarding")
        for ind in ("exploitation", "vulnerability")
        for imm in ("recent", "past", "unknown", None)
    ],
    *[
        (imm, (ind,), True, SAFE, "child-safeguarding")
        for ind in sorted(SEVERE_INDICATORS)
        for imm in ("past", "unknown", None)
    ],
    # ...not for a child whose age is not known, nor for an adult.
    ("past", ("exploitation",), None, GEN3, "routine"),
    ("past", ("exploitation",), False, GEN3, "routine"),
    ("past", ("sexual",), False, GEN3, "routine"),
    # ...nor for indicators that are not harm to the child.
    *[("past", (ind,), True, GEN3, "routine") for ind in NOT_HARM],
    *[("now", (ind,), True, GEN2, "now-or-recent") for ind in NOT_HARM if ind != "harassment"],
    # The fail-safe: unwanted attention to a child, now, is not left at 101.
    ("now", ("harassment",), True, E999, "child-now-concern"),
    ("past", ("harassment",), True, GEN3, "routine"),
    # Rule 4: now or recent, nothing severe.
    ("now", (), None, GEN2, "now-or-recent"),
    ("recent", (), False, GEN2, "now-or-recent"),
    ("now", ("antisocial",), False, GEN2, "now-or-recent"),
    ("recent", ("theft",), False, GEN2, "now-or-recent"),
    ("now", (), True, GEN2, "now-or-recent"),
    # Rule 5: otherwise.
    ("past", (), None, GEN3, "routine"),
    ("unknown", (), True, GEN3, "routine"),
    (None, (), None, GEN3, "routine"),
    ("past", ("drugs", "harassment"), False, GEN3, "routine"),
    # Precedence: rule 1 before rule 2 when both hold; rule 1 before rule 3 for a recent weapon.
    ("now", ("exploitation", "violence"), True, E999, "severe-now"),
    ("recent", ("weapon", "exploitation"), True, E999, "severe-now"),
    # Rule 3 before rule 4 for a recent child case.
    ("recent", ("exploitation",), True, SAFE, "child-safeguarding"),
]


@pytest.mark.parametrize(("immediacy", "risks", "child", "outcome", "rule"), TABLE)
def test_builtin_rules(
    immediacy: str | None,
    risks: tuple[str, ...],
    child: bool | None,
    outcome: tuple[str, str, str],
    rule: str,
) -> None:
    got = decide(facts(immediacy, risks, child), BUILTIN)
    assert (got.decision, got.queue, got.priority) == outcome
    assert got.rule == rule


def test_every_builtin_rule_is_exercised_by_the_table() -> None:
    fired = {decide(facts(i, r, c), BUILTIN).rule for i, r, c, _, _ in TABLE}
    # The second reader's rule needs its own fact (tests/conversation/test_reader.py).
    fired.add(decide(facts("now", (), None, reads_as_emergency="fit, floor"), BUILTIN).rule)
    assert fired == {rule.name for rule in BUILTIN.rules}


def test_reasons_name_the_facts_that_matched() -> None:
    case = Facts(
        location=Location(
            text="plat 4 clapham jn", station=StationRef("Clapham Junction", "CLJ", "B")
        ),
        age=Age(text="about 14", min=13, max=15, child=True),
        immediacy=ImmediacyFact(value="now", text="happening now"),
        risks=(Risk("weapon", "knife"), Risk("drugs", "packages"), Risk("weapon", "blade")),
    )
    got = decide(DispatchFacts.from_facts(case, discreet=False, local_time=None), BUILTIN)
    assert got.rule == "severe-now"
    assert got.reasons == ("happening now", "weapon: 'knife'")

    child_now = DispatchFacts.from_facts(
        Facts(
            age=Age(text="about 14", min=13, max=15, child=True),
            immediacy=ImmediacyFact(value="now", text="now"),
            risks=(Risk("exploitation", "giving him packages"),),
        ),
        discreet=False,
        local_time=None,
    )
    got = decide(child_now, BUILTIN)
    assert got.reasons == (
        "happening now",
        "child (about 14)",
        "exploitation: 'giving him packages'",
    )
    assert decide(facts("recent", ("weapon",)), BUILTIN).reasons == (
        "recent",
        "weapon: 'weapon words'",
    )
    assert decide(facts("past"), BUILTIN).reasons == ("nothing urgent known",)
    assert decide(facts("past", ("self_harm",), True), BUILTIN).reasons[-1] == (
        "self-harm: 'self_harm words'"
    )


def test_from_facts_flattens_and_keeps_unknowns_unknown() -> None:
    empty = DispatchFacts.from_facts(Facts(), discreet=True, local_time=dt.time(23, 5))
    assert empty == DispatchFacts(discreet=True, local_time=dt.time(23, 5))
    full = DispatchFacts.from_facts(
        Facts(
            location=Location(text="kgx", station=StationRef("London Kings Cross", "kgx", "b")),
            age=Age(text="13 or 14", min=13, max=14, child=True),
            immediacy=ImmediacyFact(value="recent", text="10 mins ago"),
            risks=(Risk("theft", "nicked my bag"),),
        ),
        discreet=False,
        local_time=None,
    )
    assert (full.station_crs, full.station_name, full.area) == ("KGX", "London Kings Cross", "B")
    assert (full.age_min, full.age_max, full.child, full.age_text) == (13, 14, True, "13 or 14")
    assert full.immediacy == "recent"
    assert full.risks == frozenset({"theft"})
    assert full.evidence_for("theft") == "nicked my bag"
    assert full.evidence_for("weapon") is None
    hash(full)  # frozen and hashable: usable as a cache key


def test_decision_round_trips_as_a_dict() -> None:
    got = decide(facts("now", ("violence",), False), BUILTIN)
    data = got.to_dict()
    assert data == {
        "decision": "999",
        "queue": "emergency",
        "priority": "P1",
        "rule": "severe-now",
        "reasons": ["happening now", "violence: 'violence words'"],
    }
    assert Decision.from_dict(data) == got


def _d(decision: str, queue: str, priority: str, rule: str = "r") -> Decision:
    return Decision(decision, queue, priority, rule, ("why",))


@pytest.mark.parametrize(
    ("previous", "new", "recorded"),
    [
        (None, _d("101", "general", "P3"), True),
        (None, _d("999", "emergency", "P1"), True),
        (_d("101", "general", "P3"), _d("999", "emergency", "P1"), True),  # escalate
        (_d("101", "general", "P3"), _d("101", "general", "P2"), True),  # within 101, up
        (_d("101", "safeguarding", "P2"), _d("101", "general", "P3"), True),  # within 101, down
        (_d("101", "general", "P2"), _d("101", "safeguarding", "P2"), True),  # another queue
        (_d("999", "emergency", "P1"), _d("101", "general", "P2"), False),  # never down
        (_d("999", "emergency", "P1"), _d("101", "safeguarding", "P2"), False),
        (_d("999", "emergency", "P1"), _d("999", "emergency", "P1", "other"), False),  # same
        (_d("101", "general", "P2"), _d("101", "general", "P2", "other"), False),
        (_d("999", "emergency", "P1"), _d("999", "scotland", "P1"), True),  # 999 elsewhere
    ],
)
def test_escalation_only(previous: Decision | None, new: Decision, recorded: bool) -> None:
    assert escalation_only(previous, new) == (new if recorded else None)


URGENCY = {"P1": 3, "P2": 2, "P3": 1}
dispatch_facts = st.builds(
    facts,
    immediacy=st.sampled_from([None, "now", "recent", "past", "unknown"]),
    risks=st.lists(st.sampled_from(RISK_INDICATORS), unique=True).map(tuple),
    child=st.sampled_from([None, True, False]),
)


@given(dispatch_facts)
def test_builtin_decisions_are_consistent(f: DispatchFacts) -> None:
    got = decide(f, BUILTIN)
    assert (got.decision == "999") == (got.priority == "P1")
    assert got.reasons  # every decision says why


@given(dispatch_facts, st.sampled_from(RISK_INDICATORS))
def test_a_further_risk_never_lowers_the_priority(f: DispatchFacts, extra: str) -> None:
    more = facts(f.immediacy, tuple(sorted(f.risks | {extra})), f.child)
    assert URGENCY[decide(more, BUILTIN).priority] >= URGENCY[decide(f, BUILTIN).priority]


@given(dispatch_facts)
def test_knowing_it_is_now_never_lowers_the_priority(f: DispatchFacts) -> None:
    if f.immediacy == "now":
        return
    now = facts("now", tuple(f.risks), f.child)
    assert URGENCY[decide(now, BUILTIN).priority] >= URGENCY[decide(f, BUILTIN).priority]


# The fail-safe: a child, happening now, and a worry that no indicator names.
@pytest.mark.parametrize(
    ("extra", "outcome", "rule"),
    [
        ({"concern": "looks scared"}, E999, "child-now-concern"),
        ({"discreet": True}, E999, "child-now-concern"),
        ({}, GEN2, "now-or-recent"),
    ],
)
def test_fail_safe_for_a_child_now(extra: dict, outcome: tuple, rule: str) -> None:
    got = decide(facts("now", (), True, **extra), BUILTIN)
    assert (got.decision, got.queue, got.priority) == outcome
    assert got.rule == rule
    if rule == "child-now-concern":
        assert got.reasons[0] == "child, now, concern not classified"


@pytest.mark.parametrize(
    ("immediacy", "child"), [("now", False), ("now", None), ("recent", True), ("past", True)]
)
def test_fail_safe_needs_a_child_and_now(immediacy: str, child: bool | None) -> None:
    got = decide(facts(immediacy, (), child, concern="looks scared"), BUILTIN)
    assert got.decision == "101"


def test_the_concern_is_read_from_the_conversation_concepts() -> None:
    from app.conversation.facts import Age, Concept, Facts

    f = Facts(age=Age("12", 12, 12, True), immediacy=None,
              concepts=(Concept("people", "girl"), Concept("concern", "trying to get away")))
    assert DispatchFacts.from_facts(f, discreet=False, local_time=None).concern == (
        "trying to get away")


def test_someone_responsible_already_with_a_child_is_not_999_for_a_worry() -> None:
    with_staff = facts("now", ("vulnerability",), True, help_present="staff are with him")
    got = decide(with_staff, BUILTIN)
    assert (got.decision, got.queue) == ("101", "safeguarding")
    worried = facts("now", (), True, concern="upset", help_present="his mum is on the phone")
    assert decide(worried, BUILTIN).decision == "101"
    # ...but exploitation stays 999, and so does anything severe.
    assert decide(facts("now", ("exploitation",), True, help_present="staff"), BUILTIN).decision == "999"
    assert decide(facts("now", ("violence",), True, help_present="staff"), BUILTIN).decision == "999"
