"""Danger told in the present without the word "now", and the look-alikes that must stay calm.

Each row is a way people write that the first readers missed or over-read: what cannot be
done or will not stop ("cant wake her", "wont let go"), a stated intent to die, a call to
hurry; and a texter's own words that undo a danger anywhere in the text ("hes just a
trainspotter", "shes acting").
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pytest

from app.conversation.engine import Engine
from app.conversation.extract.age import extract_age
from app.conversation.extract.concepts import read
from app.conversation.extract.immediacy import extract_immediacy
from app.conversation.extract.risk import extract_risks
from app.conversation.state import State
from app.conversation.wording import load_wording
from app.gazetteer import load_gazetteer


@lru_cache(maxsize=1)
def _engine() -> Engine:
    return Engine(load_gazetteer(None), load_wording(None))


def _conversation_indicators(text: str) -> set[str]:
    """What the engine makes of one text: the age it read counts, as in a conversation."""
    now = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC)
    state = _engine().step(State.initial("TL-261207-0001"), text, now).state
    return {r.indicator for r in state.facts.risks}


def _indicators(text: str) -> set[str]:
    return {r.indicator for r in extract_risks(text)}


@pytest.mark.parametrize(
    "text",
    [
        "hes got hold of my wrist n wont let go",
        "GIRL PASSED OUT IN THE LADIES CANT WAKE HER UP",
        "ive cut my arms and it wont stop bleeding",
        "we cant find her anywhere",
        "sir one man he say he will jump to train",
        "gna step off wen the nxt 1 comes thru",
        "WOMAN ON THE TRACKS SHOUTING SHE WANTS TO DIE PLEASE HURRY",
        "someone down on the track and a train is due",
        "bloke sat next to her 5 mins ago, hes got his hand up her skirt",
    ],
)
def test_the_present_without_now_is_now(text: str) -> None:
    fact = extract_immediacy(text)
    assert fact is not None and fact.value == "now", (text, fact)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yesterday he said he was going to jump", "past"),
        ("2 days ago i saw a man with a knife, only just thought to report it", "past"),
        ("there was a stabbing at horsham years back", "past"),
        ("she had a fit about 15 mins ago, shes being looked after now", "recent"),
    ],
)
def test_the_past_and_help_arrived_are_not_now(text: str, value: str) -> None:
    fact = extract_immediacy(text)
    assert fact is not None and fact.value == value, (text, fact)


@pytest.mark.parametrize(
    "text",
    [
        "fight on plat 5, lad got punched and his nose is pouring, btp are here now",
        "im in a taxi home with my mum now",
        "your officers have found her and shes with them in the station office now",
        "Now 23:40. Earlier a group of lads were rowdy",
        "not sure if this is anything but there are lads by the barriers",
    ],
)
def test_help_arrived_or_the_time_is_not_now(text: str) -> None:
    fact = extract_immediacy(text)
    assert fact is None or fact.value != "now", (text, fact)


def test_a_discreet_texter_with_a_danger_is_in_it_now() -> None:
    now = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC)
    text = "cant talk. overheard the older one telling the young one hes running the line for them"
    state = _engine().step(State.initial("TL-261207-0001"), text, now).state
    assert state.discreet and state.facts.immediacy is not None
    assert state.facts.immediacy.value == "now"


def test_please_help_alone_does_not_say_when() -> None:
    assert extract_immediacy("someone took my bike please help") is None
    fact = extract_immediacy("the police are sat with her now, shes safe")
    assert fact is None or fact.value != "now"


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("man on plat 5 keeps sayin hes goin under the next train", "self_harm"),
        ("put a video of the tracks on her story saying last thing ill ever see", "self_harm"),
        ("been lettin all the fast ones go past n gettin closer to the edge", "self_harm"),
        ("he say he will jump to train", "self_harm"),
        ("cnt do this no more", "self_harm"),
        ("a girl in yr 11 absolutely wasted on the floor, cant even stand up", "vulnerability"),
        ("my lil sis is 13 n we cant find her anywhere", "vulnerability"),
        ("fella on the bench wont leave this woman alone", "harassment"),
        ("my dad has bad chest pains and is struggling to breathe", "danger_to_life"),
        ("smoke coming up from under the seats, stinks of burning plastic", "danger_to_life"),
        ("2 little kids chasing up and down the edge of platform 4, no grown ups with them",
         "danger_to_life"),
        ("im on the footbridge and ive climbed over the side", "self_harm"),
        ("man stay on edge of platform, he cry and say he want die", "self_harm"),
        ("a man is holding something pointy to a womans neck", "weapon"),
        ("a bloke just hauled a young woman off the train by her coat", "violence"),
        ("girl passed out on a bench and a guy whos not with her keeps feeling her chest", "sexual"),
        ("2 men half carrying a girl who can barely stand towards the taxis", "abduction"),
        ("a woman keeps telling a little boy his mum sent her to get him", "abduction"),
    ],
)
def test_what_the_first_readers_missed(text: str, indicator: str) -> None:
    assert indicator in _conversation_indicators(text), (text, extract_risks(text))


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("little lad with a plastic toy gun that flashes n makes noises", "sexual"),
        ("lad with massive spiked hair keeps puttin his boots on the seats", "danger_to_life"),
        ("ppl blastin music every night, its doin my head in", "violence"),
        ("bloke stood right on the edge filming the trains. hes just a trainspotter", "self_harm"),
        ("an actress keeps pretending to jump off the platform for a scene", "self_harm"),
        ("our train hit a branch on the line. everyones fine", "danger_to_life"),
        ("a kid asleep on his mums lap", "vulnerability"),
        ("cant breathe in here lol the train is rammed", "danger_to_life"),
        ("the conductor was on fire today, had us all in stitches", "danger_to_life"),
        ("man in chef whites with his knife roll zipped up", "weapon"),
        ("bunch of men in orange hi vis with crowbars and sledgehammers", "weapon"),
        ("couple snogging and groping each other across from me", "sexual"),
        ("lad watching videos of people getting beaten up on full volume", "violence"),
        ("man shouting at the staff on the barriers because his train got cancelled", "self_harm"),
        ("they need more than 4 coaches on this", "vulnerability"),
    ],
)
def test_look_alikes_stay_calm(text: str, indicator: str) -> None:
    assert indicator not in _indicators(text), (text, extract_risks(text))


def test_a_negation_ends_where_a_new_subject_begins() -> None:
    names = {c.name for c in read("cant talk they can see my phone").concepts}
    assert "presence" in names
    assert "weapon" not in _indicators("i dont think he has a knife")
    assert "violence" not in _indicators("he didnt push her")


@pytest.mark.parametrize(
    ("text", "age"),
    [("my son is autistic n 12, hes on his own", 12), ("3 lads followin us. were 14", 14)],
)
def test_an_age_said_second_or_with_were(text: str, age: int) -> None:
    found = extract_age(text)
    assert found is not None and found.min == age == found.max
    assert extract_age("the train is late and 12 people are waiting") is None
