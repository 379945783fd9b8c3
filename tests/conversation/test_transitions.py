"""Walk every (conversation, input kind) pair of the transition table under every flag."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

import pytest

from app.conversation.facts import Age, Concept, Facts, ImmediacyFact, Location, Risk
from app.conversation.gsm import is_gsm7, segments
from app.conversation.replies import compose
from app.conversation.state import CONVERSATIONS, DONE, QUESTIONS, State, missing
from app.conversation.transitions import KINDS, TABLE, Turn, handler
from app.conversation.wording import load_wording
from app.gazetteer import load_gazetteer

NOW = datetime(2026, 11, 28, 14, 30, tzinfo=UTC)
WORDING = load_wording(None)
# The states are built by hand (no text is read); the stations are the real list's.
AFK, AFS, LDS = (load_gazetteer(None).get(crs).ref() for crs in ("AFK", "AFS", "LDS"))

AT_LEEDS = Location(text="leeds", station=LDS)
TOLD = (Concept("people", "a lad"),)  # who it is about: "what is happening?" is not asked
FACTS = {
    "asking_what": Facts(),
    "asking_location": Facts(concepts=TOLD),
    "confirming_location": Facts(
        location=Location(text="ashford", candidates=(AFK, AFS)), concepts=TOLD
    ),
    "asking_age": Facts(location=AT_LEEDS, concepts=TOLD),
    "asking_immediacy": Facts(location=AT_LEEDS, age=Age("14", 14, 14, True), concepts=TOLD),
    DONE: Facts(
        location=AT_LEEDS, age=Age("14", 14, 14, True), immediacy=ImmediacyFact("now", "now"),
        concepts=TOLD,
    ),
}
FLAGS = ("discreet", "opted_out", "operator_engaged", "emergency", "timed_out")


def flag_sets():
    for n in range(len(FLAGS) + 1):
        yield from itertools.combinations(FLAGS, n)


def build(conversation: str, flags: tuple[str, ...], asks: int, severe: bool, acked: bool) -> State:
    facts = FACTS[conversation]
    if severe and conversation != "asking_what":  # a named risk is never asked "what?"
        facts = Facts(facts.location, facts.age, facts.immediacy, (Risk("weapon", "knife"),),
                      facts.concepts)
    silenced = "discreet" in flags or "opted_out" in flags or "operator_engaged" in flags
    return State(
        reference="TL-261128-99999",
        # a bot that may not ask is never left waiting for an answer
        conversation=DONE if silenced else conversation,
        facts=facts,
        asks=asks if conversation != DONE else 0,
        choices=(AFK, AFS) if conversation == "confirming_location" else (),
        acknowledged=acked,
        last_asked=conversation if conversation != DONE else "asking_immediacy",
        asked_at="2026-11-28T14:00:00+00:00",
        **{f: True for f in flags},
    )


def test_the_table_covers_every_pair() -> None:
    assert set(TABLE) == set(CONVERSATIONS)
    for conversation in CONVERSATIONS:
        assert set(TABLE[conversation]) == set(KINDS), conversation


CASES = [
    (c, k, flags, asks, severe, acked)
    for c in CONVERSATIONS
    for k in KINDS
    for flags in flag_sets()
    for asks in (0, 1, 2)
    for severe in (False, True)
    for acked in (False, True)
]


@pytest.mark.parametrize("conversation", CONVERSATIONS)
def test_every_pair_has_a_sensible_outcome(conversation: str) -> None:
    walked = 0
    for c, kind, flags, asks, severe, acked in CASES:
        if c != conversation:
            continue
        before = build(c, flags, asks, severe, acked)
        choice = AFK if kind == "choice" and before.conversation == "confirming_location" else None
        outcome = handler(before.conversation, kind)(Turn(before, "blue coat", NOW, choice))
        said = compose(outcome.state, outcome.lines, outcome.events, WORDING)
        after = said.state
        where = f"{c}/{kind} flags={flags} asks={asks} severe={severe} acked={acked}"
        walked += 1

        assert after.conversation in CONVERSATIONS, where
        assert State.from_dict(json.loads(json.dumps(after.to_dict()))) == after, where
        assert after.asks <= 2, where
        # flags respected
        if after.discreet:
            assert said.texts == (), where
        if after.opted_out and "opted_out" not in outcome.events:
            assert said.texts == (), where
        if not after.can_ask:
            assert after.conversation == DONE, where
        if before.discreet:
            assert after.discreet, where  # only an operator can end discretion
        # the bot never waits for something it already has
        if after.conversation in QUESTIONS:
            assert after.conversation in missing(after.facts, after.closed), where
        # a question state always had its question put (texted, or silenced by the flags)
        if after.conversation in QUESTIONS and after.conversation != before.conversation:
            assert after.asks >= 1 or kind == "reopen", where
        for text in said.texts:
            assert is_gsm7(text) and segments(text)[0] <= 2, where
        if said.texts and not before.acknowledged:
            assert "TL-261128-99999" in said.texts[0], where
        # host events never text by themselves, except the 999 advice once nothing is asked
        if kind in ("operator", "silence", "reopen"):
            assert outcome.lines == (), where
        if kind == "stop" and not before.opted_out and not before.discreet:
            assert any("START" in t for t in said.texts), where
        if kind == "operator":
            assert after.operator_engaged and after.conversation == DONE, where
        if kind == "emergency":
            assert after.emergency, where
    assert walked == len(CASES) // len(CONVERSATIONS)


def test_walk_reaches_every_conversation_value() -> None:
    reached = set()
    for c, kind, flags, asks, severe, acked in CASES:
        before = build(c, flags, asks, severe, acked)
        choice = AFK if kind == "choice" else None
        reached.add(
            handler(before.conversation, kind)(Turn(before, "x", NOW, choice)).state.conversation
        )
    assert reached == set(CONVERSATIONS)
