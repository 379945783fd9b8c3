"""A danger told as just done, the last things before a suicide, a body that has gone wrong,
blows by where they land, a small child with no grown-up: more scenes in words of their own.

A 999 is made the moment it is known (DESIGN.md). "A man has just pushed a woman into a car"
is recent in the texter's words, and the one who did it may be there still: it is rung through
unless the text says they have gone.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pytest

from app.conversation.engine import Engine
from app.conversation.extract.age import extract_age
from app.conversation.extract.concepts import read
from app.conversation.extract.immediacy import extract_immediacy
from app.conversation.facts import Facts
from app.conversation.state import State
from app.conversation.wording import load_wording
from app.dispatch.decide import DispatchFacts, decide
from app.dispatch.rules import load_rules
from app.gazetteer import load_gazetteer

NOW = dt.datetime(2026, 12, 8, 1, 0, tzinfo=dt.UTC)


@lru_cache(maxsize=1)
def _engine() -> Engine:
    return Engine(load_gazetteer(None), load_wording(None))


def _facts(*texts: str) -> Facts:
    state = State.initial("TL-261208-0001")
    for text in texts:
        state = _engine().step(state, text, NOW).state
    return state.facts


def _decision(*texts: str) -> str:
    facts = DispatchFacts.from_facts(_facts(*texts), discreet=False, local_time=None)
    return decide(facts, load_rules(None)).decision


@pytest.mark.parametrize(
    "text",
    [
        "a man has just shoved a girl into the back of a silver car outside the station",
        "some bloke just grabbed a woman by the arm and is dragging her to the taxi rank",
        "a lad just punched the guard in the face on coach c",
        "a guy just put his hand up the skirt of the woman asleep opposite me",
    ],
)
def test_just_done_to_someone_is_rung_through(text: str) -> None:
    assert _decision(text) == "999"


@pytest.mark.parametrize(
    "text",
    [
        "a man just punched another man on the platform then ran off towards the exit",
        "a lad just grabbed my phone out my hand and legged it",
        "someone just pushed past me at the barriers, rude but no harm done, hes gone",
    ],
)
def test_just_done_and_gone_is_not(text: str) -> None:
    assert _decision(text) == "101"


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("three of them are kicking the lad's head on the floor", "violence"),
        ("a man started on a young lad by the ticket machines", "violence"),
        ("passenger has just headbutted my colleague at the gate", "violence"),
        ("a bloke forced a girl into a minibus by the bus stops", "abduction"),
        ("she keeps begging to be let go, he has her against the wall", "abduction"),
        ("my dad is giving his watch and his wallet away saying he wont need them anymore",
         "self_harm"),
        ("a man has poured petrol over himself on the concourse", "self_harm"),
        ("one side of her face has dropped and she cant lift her arm", "danger_to_life"),
        ("he collapsed and now his breathing sounds really strange", "danger_to_life"),
        ("the train has just hit a car on the crossing", "danger_to_life"),
        ("kids are chucking stones off the footbridge onto the line", "danger_to_life"),
        ("a boy is hanging off the back of the tram holding the coupling", "danger_to_life"),
        ("we heard three bangs like gunshots in the car park", "weapon"),
    ],
)
def test_scenes_in_other_words(text: str, indicator: str) -> None:
    assert indicator in {r.indicator for r in _facts(text).risks}


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("the guard said my face dropped when i saw the fare", "danger_to_life"),
        ("fireworks going off by the river, bangs like gunshots but its bonfire night", "weapon"),
        ("my phone fell down the back of the seat, can someone help", "danger_to_life"),
        ("the train hit a tree branch near the tunnel, we are delayed", "danger_to_life"),
        ("staff can see my son on the cameras sat on the bench, he is waiting for me",
         "self_harm"),
    ],
)
def test_false_friends_stay_quiet(text: str, indicator: str) -> None:
    assert indicator not in {r.indicator for r in _facts(text).risks}


def test_a_small_child_with_no_grown_up_at_night() -> None:
    assert _decision("tiny boy in his pyjamas on the platform right now, must be 4 or 5, no adult "
                     "anywhere and its 11pm") == "999"


def test_no_adult_is_nobodys_age() -> None:
    age = extract_age("little girl by the lifts, no adult anywhere")
    assert age is not None and age.child is True


@pytest.mark.parametrize("answer", ["a man", "men", "both women", "grown men"])
def test_asked_their_age_a_man_is_an_adult(answer: str) -> None:
    age = extract_age(answer, answering=True)
    assert age is not None and age.child is False and age.min == 18


def test_a_man_in_a_sentence_is_not_an_age() -> None:
    assert extract_age("a man is following her", answering=True) is None


def test_a_danger_back_after_help_left_is_now() -> None:
    fact = extract_immediacy("earlier he was shouting at staff and left, hes just come back "
                             "and is hitting the window")
    assert fact is not None and fact.value == "now", fact


def test_waiting_outside_for_her_is_now() -> None:
    fact = extract_immediacy("a man told her to wait at the cafe and he just texted that he is outside")
    assert fact is not None and fact.value == "now", fact


def test_a_negation_before_my_does_not_reach_past_it() -> None:
    names = {c.name for c in read("cant talk my olders are right here").concepts}
    assert "older" in names


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("a man followed a girl into the disabled toilet and locked the door", "abduction"),
        ("drunk fella waving his bits at the women by the taxi rank", "sexual"),
        ("lad doubled over sweating and grey, says he swallowed packages and one has split",
         "danger_to_life"),
        ("she fell down the escalator and now shes barely talking", "danger_to_life"),
        ("boy about 12 in coach a, phone keeps going, a man keeps checking on him", "exploitation"),
    ],
)
def test_more_scenes_in_other_words(text: str, indicator: str) -> None:
    assert indicator in {r.indicator for r in _facts(text).risks}


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("a boy of 14 missed the last train home at 11pm, his mum is on her way",
         "vulnerability"),
        ("lads with paintball guns in a bag, off to a birthday do with their dad", "weapon"),
        ("nearly had a heart attack when the fast train came through, so loud", "danger_to_life"),
    ],
)
def test_more_false_friends_stay_quiet(text: str, indicator: str) -> None:
    assert indicator not in {r.indicator for r in _facts(text).risks}


@pytest.mark.parametrize(
    "texts",
    [
        ("a dad just grabbed his son by the hood away from the yellow line, kids fine now",),
        ("there are kids near the tracks in a film, they are acting, a crew is filming a drama "
         "right now, in case anyone worries",),
    ],
)
def test_a_look_alike_explained_at_once_stays_101(texts: tuple[str, ...]) -> None:
    assert _decision(*texts) == "101"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("she was shaking when she left the shop. shes gone back out to him now", "now"),
        ("i just picked him up in my taxi, hes in my back seat now", "now"),
        ("i saw kids sitting on the wall by the line last week", "past"),
    ],
)
def test_when_it_happens(text: str, value: str) -> None:
    fact = extract_immediacy(text)
    assert fact is not None and fact.value == value, fact


def test_safe_placement_now_is_not_now() -> None:
    fact = extract_immediacy("he was sent to sell in october. he is now in a safe placement")
    assert fact is None or fact.value != "now", fact
