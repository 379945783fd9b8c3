"""Danger told as a scene, the aftermath of one that is over, and the questions a vague text needs.

Each row is a kind of report: despair told in the texter's own words, a person where trains or
traffic run, a collapse told as "unconscious", a thing taken for a weapon and explained in the
same breath, help that has come to something already over.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pytest

from app.conversation.engine import Engine
from app.conversation.extract.immediacy import extract_immediacy
from app.conversation.extract.risk import extract_risks
from app.conversation.facts import unnamed_train
from app.conversation.state import State
from app.conversation.wording import load_wording
from app.gazetteer import load_gazetteer

NOW = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC)


@lru_cache(maxsize=1)
def _engine() -> Engine:
    return Engine(load_gazetteer(None), load_wording(None))


def _first(text: str) -> State:
    return _engine().step(State.initial("TL-261207-0001"), text, NOW).state


def _indicators(text: str) -> set[str]:
    return {r.indicator for r in _first(text).facts.risks}


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("my brother texted he cant keep going and hes at the station", "self_harm"),
        ("i dont think i can carry on, sat on plat 3", "self_harm"),
        ("she said tell my mum im sorry and put the phone down", "self_harm"),
        ("he keeps going right up to the edge each time a train comes in", "self_harm"),
        ("bloke keeps asking which is the highest bridge round here", "self_harm"),
        ("lady at the end of the platform says it would be so easy with the fast trains", "self_harm"),
        ("my dad says he wont be around much longer, hes gone to the station", "self_harm"),
        ("i pulled a woman back from the edge and shes still stood there", "self_harm"),
        ("man slumped in the vestibule, hes unresponsive", "danger_to_life"),
        ("woman collapsed by the ticket machines and shes unconscious", "danger_to_life"),
        ("lad in the car park barely conscious and soaked", "danger_to_life"),
        ("my friend messaged she cant feel her legs after a stranger bought her a drink",
         "danger_to_life"),
        ("a man has fallen off the platform onto the rails", "danger_to_life"),
        ("teenagers playing chicken with the trains at the crossing", "danger_to_life"),
        ("two lads walking across the station roof", "danger_to_life"),
        ("kid climbing the signal gantry over the line", "danger_to_life"),
        ("an old man wandering along next to the tracks past the platform end", "danger_to_life"),
        ("a woman in the road outside the station, cars swerving round her", "danger_to_life"),
        ("van has stalled on the level crossing and the barriers are coming down",
         "danger_to_life"),
        ("the train just hit someone at the foot crossing", "danger_to_life"),
        ("hes got himself out and is showing it to girls on the platform", "sexual"),
        ("a drunk man swung at the guard", "violence"),
        ("a man punched the glass right next to her face", "violence"),
    ],
)
def test_danger_told_as_it_is_seen(text: str, indicator: str) -> None:
    assert indicator in _indicators(text), (text, extract_risks(text))


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("thought that man had a gun but its just a tripod for his camera", "weapon"),
        ("saw what i thought was a machete, got closer and its a hedge trimmer in a case",
         "weapon"),
        ("police officers with big guns walking through the concourse", "weapon"),
        ("someone fell onto the tracks but its a dummy, film crew everywhere", "danger_to_life"),
        ("lads singing a song about jumping off a bridge over and over", "self_harm"),
        ("someone sprayed graffiti about ending it on the footbridge", "self_harm"),
        ("the heating is broken, someones going to die of heat in here", "self_harm"),
        ("police are holding a man down outside, hes in cuffs", "violence"),
        ("the guard wont let me off till i pay a penalty fare", "abduction"),
        ("a man is walking off down the train with my bag", "self_harm"),
        ("the driver is walking along beside the track with a torch", "danger_to_life"),
        ("a man walking his dog on the path next to the railway line", "danger_to_life"),
        ("little boy having a tantrum, his mum is dragging him along", "violence"),
        ("its her dad, she keeps calling him daddy", "abduction"),
    ],
)
def test_look_alikes_explained_in_the_same_breath(text: str, indicator: str) -> None:
    assert indicator not in _indicators(text), (text, extract_risks(text))


@pytest.mark.parametrize(
    "text",
    [
        "about 20 mins ago a man had a fit on the concourse, paramedics are with him now",
        "earlier a woman was stood at the edge crying, staff have taken her to the office now",
        "half an hour ago a lad climbed the railings, police talked him down and hes with them now",
    ],
)
def test_help_come_to_something_over_is_not_now(text: str) -> None:
    fact = extract_immediacy(text)
    assert fact is not None and fact.value in ("recent", "past"), fact


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("man stabbed someone 10 mins ago, police are here now but hes still on the train", "now"),
        ("2 men are pushing a girl into a van, she was with her friend earlier", "now"),
        ("the boy i saw with the olders last week is back again now", "now"),
        ("the lad from the missing appeal is on my train", "now"),
        ("hes barely breathing, his mate is with him", "now"),
        ("we're all hiding in the toilets, he has a knife", "now"),
        ("the man fell on the rail, he not get up", "now"),
        ("earlier today, must be 3 hours ago now, a lad got handed a phone", "past"),
    ],
)
def test_when_it_happens(text: str, value: str) -> None:
    fact = extract_immediacy(text)
    assert fact is not None and fact.value == value, fact


@pytest.mark.parametrize(
    "text",
    [
        "hi sorry not sure if this is the right number for this",
        "can someone come to the car park at redhill station pls",
    ],
)
def test_a_text_that_says_nothing_of_what_is_happening_is_asked_what(text: str) -> None:
    assert _first(text).conversation == "asking_what"


@pytest.mark.parametrize(
    "text",
    [
        "a man is following a girl about 14 round the station, she looks scared",
        "hi sorry not sure if this is the right number but a man at the end of platform 2 keeps "
        "going right up to the edge every time a train comes through and stepping back",
    ],
)
def test_a_text_that_tells_the_scene_is_not_asked_what(text: str) -> None:
    assert _first(text).conversation != "asking_what"


def test_a_train_named_only_as_a_train_is_asked_where() -> None:
    assert unnamed_train("on the train") and unnamed_train("on this train") and unnamed_train(None)
    assert not unnamed_train("14:32 York to Leeds") and not unnamed_train("to Brighton")
    assert _first("lads being lairy on the train, one has a knife out").conversation == "asking_location"
    assert _first("lads being lairy on the train to brighton, one has a knife out").conversation != (
        "asking_location"
    )


def test_an_age_set_off_by_commas_after_the_person() -> None:
    from app.conversation.extract.age import extract_age

    found = extract_age("a lad from my street, 15, is on the train with two men")
    assert found is not None and found.min == found.max == 15 and found.child
    assert extract_age("platform 4, 12, 13 and 14 are closed") is None


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("next train through im going to step in front of it", "self_harm"),
        ("woman on the floor of the carriage jerking all over", "danger_to_life"),
        ("two men holding a lad down on the platform and kicking him", "violence"),
    ],
)
def test_more_ways_of_telling_it(text: str, indicator: str) -> None:
    assert indicator in _indicators(text), (text, extract_risks(text))


def test_back_now_is_now_and_a_while_back_now_is_not() -> None:
    fact = extract_immediacy("hes back now and hes got a knife")
    assert fact is not None and fact.value == "now"
    fact = extract_immediacy("it was a while back now")
    assert fact is None or fact.value != "now"
