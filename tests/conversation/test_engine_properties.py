"""Random conversations through the real engine: whatever comes in, the rules hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.conversation.engine import Engine
from app.conversation.gsm import is_gsm7, segments
from app.conversation.state import CONVERSATIONS, DONE, QUESTIONS, State, missing
from app.conversation.wording import load_wording
from app.gazetteer import load_gazetteer

FRAGMENTS = [
    "lad about 14",
    "girl maybe 15",
    "man in his 40s",
    "at clapham jn",
    "at ashford",
    "at newport station",
    "platform 4",
    "coach C",
    "on the 14:32 from york to leeds",
    "now",
    "happening right now",
    "20 mins ago",
    "last friday",
    "with a knife",
    "hitting her",
    "giving him packages",
    "dont know",
    "not sure",
    "cant talk",
    "they can see my phone",
    "1",
    "2",
    "the one in kent",
    "yes",
    "hang on",
    "£20",
    "2 lads",
    "kings x",
    "help me",
    "\u2019",
    "\U0001f622",
    "",
]
KEYWORDS = ["STOP", "START", "HELP", "UNSUBSCRIBE", "stop", "yes"]
START = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)

texts = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=4).map(" ".join),
    st.sampled_from(KEYWORDS),
    st.text(max_size=40),
)
actions = st.one_of(
    texts.map(lambda t: ("text", t)),
    st.sampled_from([("emergency", ""), ("operator", ""), ("silence", ""), ("reopen", "")]),
)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_gazetteer(None), load_wording(None))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(script=st.lists(actions, min_size=1, max_size=12))
def test_rules_hold_for_any_conversation(engine: Engine, script: list[tuple[str, str]]) -> None:
    state = State.initial("TL-261128-0001")
    now = START
    ever_discreet = False
    for kind, text in script:
        now += timedelta(minutes=4)
        was_opted_out = state.opted_out
        if kind == "text":
            step = engine.step(state, text, now)
        elif kind == "emergency":
            step = engine.flag_emergency(state)
        elif kind == "operator":
            step = engine.operator_engaged(state)
        elif kind == "silence":
            step = engine.silence(state, now, 10)
        else:
            step = engine.reopen(state, now)
        after = step.state
        ever_discreet = ever_discreet or after.discreet

        assert after.conversation in CONVERSATIONS
        assert State.from_dict(json.loads(json.dumps(after.to_dict()))) == after
        assert step.facts_changed == (after.facts != state.facts)
        if ever_discreet:
            assert step.replies == ()
        if was_opted_out and after.opted_out:
            assert step.replies == ()
        if after.operator_engaged or after.discreet or after.opted_out:
            assert after.conversation == DONE
        if after.conversation in QUESTIONS:
            assert after.conversation in missing(after.facts, after.closed)
        if kind in ("operator", "silence", "reopen"):
            assert step.replies == ()
        for reply in step.replies:
            assert is_gsm7(reply) and 0 < segments(reply)[0] <= 2
        if step.replies and not state.acknowledged:
            assert "TL-261128-0001" in step.replies[0]
        state = after
