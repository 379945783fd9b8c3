"""The learned second reader: what it raises, what it leaves alone, and that the shipped weights
are exactly what the tuned corpus trains."""

from __future__ import annotations

import datetime as dt

import pytest

from app.conversation.extract.reader import (
    CONCEPT,
    WEIGHTS,
    Model,
    default_model,
    features,
    read_account,
)
from app.dispatch.decide import DispatchFacts, decide
from app.dispatch.rules import load_rules
from tests.corpus import train_reader

RULES = load_rules(None)


def test_the_shipped_weights_are_what_the_tuned_corpus_trains() -> None:
    """Retrain from tests/corpus/dev_*.yaml and compare: a corpus change that is not followed
    by `python -m tests.corpus.train_reader` fails here. (The threshold comes from holding out
    each file in turn, forty trainings; the script checks it with --check.)"""
    shipped = default_model()
    trained = train_reader.train(train_reader.examples(train_reader.TUNED))
    assert Model(trained.weights, trained.bias, shipped.threshold).to_json() == \
        WEIGHTS.read_text(encoding="utf-8")
    assert 0.5 < shipped.threshold < 1.0


def test_the_set_aside_part_is_never_trained_on() -> None:
    names = {name for name, _, _ in train_reader.examples(train_reader.TUNED)}
    assert names and all(n.startswith("dev_") for n in names)


@pytest.mark.parametrize(
    "text",
    [
        "man on the floor at the barriers not moving and his lips are blue",
        "woman on the floor having a fit, her head keeps hitting the ground",
        "lad pinned to the floor by 3 others getting kicked in the head",
    ],
)
def test_it_reads_danger_in_words(text: str) -> None:
    found = read_account(text)
    assert [c.name for c in found] == [CONCEPT]
    # The evidence is the words that weighed most, each taken from the text.
    lemmas = features(text)
    assert all(w.replace(" ", "_") in lemmas for w in found[0].evidence.split(", "))


@pytest.mark.parametrize(
    "text",
    [
        "the 17:32 is late again and the toilets are out of order",
        "lost my purse on the train to york, black leather",
        "lads with their feet on the seats and music on full blast",
        "22",
    ],
)
def test_it_leaves_routine_texts_alone(text: str) -> None:
    assert read_account(text) == ()


def _facts(*, immediacy: str | None, reading: str | None, help_present: str | None = None
           ) -> DispatchFacts:
    return DispatchFacts(immediacy=immediacy, risks=frozenset(), evidence=(), child=None,
                         age_min=None, age_max=None, age_text=None, station_crs=None,
                         station_name=None, area=None, discreet=False, local_time=None,
                         reads_as_emergency=reading, help_present=help_present)


def test_the_rule_raises_only_what_is_happening_now_and_says_why() -> None:
    d = decide(_facts(immediacy="now", reading="chest pain, grey"), RULES)
    assert (d.decision, d.rule) == ("999", "reads-as-emergency")
    assert "reads as an emergency: 'chest pain, grey'" in d.reasons
    assert decide(_facts(immediacy="past", reading="chest pain"), RULES).decision == "101"
    assert decide(_facts(immediacy="now", reading=None), RULES).decision == "101"
    helped = _facts(immediacy="now", reading="chest pain", help_present="paramedics are with him")
    assert decide(helped, RULES).decision == "101"


def test_a_threshold_of_one_raises_nothing() -> None:
    model = Model({"knife": 9.0}, 0.0, 1.0)
    assert read_account("he has a knife", model) == ()
    assert read_account("he has a knife", Model({"knife": 9.0}, 0.0, 0.5))


def test_the_engine_carries_the_reading_into_the_case() -> None:
    from app.conversation.engine import Engine
    from app.conversation.state import State
    from app.conversation.wording import load_wording
    from app.gazetteer import load_gazetteer

    engine = Engine(load_gazetteer(None), load_wording(None))
    now = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC)
    state = engine.step(State.initial("TL-261207-0001"),
                        "woman on the floor having a fit, her head keeps hitting the ground",
                        now).state
    assert any(c.name == CONCEPT for c in state.facts.concepts)
