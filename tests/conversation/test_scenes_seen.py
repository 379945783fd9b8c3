"""More scenes told by what is seen: where the trains run, the means of a suicide, a hand where
it is not wanted, a hold, shots, a child taken; the words of Scotland and the North East; and
a danger that has come back ("the man from earlier is back").

Each row is a kind of report, in words of its own; the false friends beside them must stay
quiet.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pytest

from app.conversation.engine import Engine
from app.conversation.extract.concepts import read
from app.conversation.extract.immediacy import extract_immediacy
from app.conversation.extract.words import normalised
from app.conversation.state import State
from app.conversation.wording import load_wording
from app.gazetteer import load_gazetteer

NOW = dt.datetime(2026, 12, 8, 1, 0, tzinfo=dt.UTC)


@lru_cache(maxsize=1)
def _engine() -> Engine:
    return Engine(load_gazetteer(None), load_wording(None))


def _indicators(text: str) -> set[str]:
    state = _engine().step(State.initial("TL-261208-0001"), text, NOW).state
    return {r.indicator for r in state.facts.risks}


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("a bloke is strolling along the middle of the tracks by the tunnel", "danger_to_life"),
        ("someone is stood in the four foot at platform 2 staring down the line", "danger_to_life"),
        ("an old lady has wandered between the rails at the crossing", "danger_to_life"),
        ("her foot is wedged under the carriage and the doors are closing", "danger_to_life"),
        ("a man slipped down the gap by the doors of the train at plat 5", "danger_to_life"),
        ("he cut his arm on the glass and blood is pumping out", "danger_to_life"),
        ("a lad is clinging onto the back of the last carriage as it leaves", "danger_to_life"),
        ("a man just strolled off into the tunnel past the signal", "danger_to_life"),
        ("someone has climbed off the end of the platform and is heading for the track",
         "danger_to_life"),
        ("kids are running about on the roofs of the parked carriages in the sidings",
         "danger_to_life"),
        ("girl lying face down in her own sick on the bench, wont wake", "danger_to_life"),
        ("my sister texted she wants it all over and shes at the station", "self_harm"),
        ("a note on the seat saying sorry to his kids and nobody about", "self_harm"),
        ("my dad rang to say he loves us all and hes sorry, i could hear trains", "self_harm"),
        ("a man has a rope round his neck tied to the footbridge", "self_harm"),
        ("a car in the station car park with a hose from the exhaust into the window",
         "self_harm"),
        ("ive been cutting on the train and its deeper than usual", "self_harm"),
        ("her story says bye everyone with a pic from the viaduct", "self_harm"),
        ("a man is on the outside of the railings on the bridge over the line", "self_harm"),
        ("a man keeps flashing the school kids on platform 1", "sexual"),
        ("someones holding a phone under the partition in the ladies, filming", "sexual"),
        ("the man next to me has his hand down my jeans", "sexual"),
        ("hes got her arm twisted up behind her back on the train", "violence"),
        ("a man has his forearm across her throat against the wall", "violence"),
        ("fists flying on the concourse between two groups", "violence"),
        ("heard three shots from the car park and people running", "weapon"),
        ("some boy let off a strap outside the station", "weapon"),
        ("a woman is dragging a small boy away who keeps screaming she isnt his mummy",
         "abduction"),
        ("a man has just put the child in a white van and driven off", "abduction"),
        ("there is a baby in a buggy alone on the platform with nobody with it", "vulnerability"),
        ("a wee boy greetin, says he cannae find his da", "vulnerability"),
        ("a girl of 12 shows on find my at the station when she should be at school",
         "vulnerability"),
        ("two older men told a boy of 14 to go to the toilets and plug it", "exploitation"),
        ("a boy of 13 keeps picking up the packages from the bin and a man in a car watches him",
         "exploitation"),
    ],
)
def test_danger_told_as_it_is_seen(text: str, indicator: str) -> None:
    assert indicator in _indicators(text)


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("the trains are running through the tunnel again after the signal fault", "danger_to_life"),
        ("the lift is stuck and so is the ticket machine", "danger_to_life"),
        ("can i plug my phone in at the waiting room", "exploitation"),
        ("my son is going to meet his dad at the station", "vulnerability"),
        ("a baby asleep in her pram with her dad on the platform", "vulnerability"),
        ("im sorry to bother you, the toilet door on coach b is broken", "self_harm"),
        ("a man taking shots of the trains with a big lens at the platform end", "weapon"),
        ("man watching a film full blast, all screaming and gunshots", "weapon"),
        ("my glasses case fell down the gap by the train doors", "danger_to_life"),
        ("a load of school kids screaming and running about on the concourse", "concern"),
    ],
)
def test_false_friends_stay_quiet(text: str, indicator: str) -> None:
    if indicator == "concern":  # children at play, loud: no worry for the fail-safe to count
        assert "concern" not in {c.name for c in read(text).concepts}
        return
    assert indicator not in _indicators(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("the man with the bat who was thrown out earlier is back in the ticket hall", "now"),
        ("the lads who were fighting earlier are back at it by the barriers", "now"),
        ("the same men from yesterday are on platform 2 again with the boy", "now"),
        ("hes pulling her back into the cabin, she told staff earlier she was alone", "now"),
        ("theyre at the ticket office now", "now"),
        ("hes no stopped, still gaun the noo", "now"),
    ],
)
def test_when_it_happens(text: str, value: str) -> None:
    fact = extract_immediacy(text)
    assert fact is not None and fact.value == value, fact


@pytest.mark.parametrize(
    "text",
    [
        "she was lost earlier but shes back with her mum now",
        "he came back from the shops yesterday and hit her",
        "it was tuesday morning when a man followed me off the train",
        "a man keeps turning up when i finish work, he was there on tuesday, im home now",
    ],
)
def test_back_safe_or_back_then_is_not_now(text: str) -> None:
    fact = extract_immediacy(text)
    assert fact is None or fact.value != "now", fact


def test_telling_the_day_is_not_saying_it_is_over() -> None:
    fact = extract_immediacy("its friday morning and theres a boy of 10 alone here, no coat")
    assert fact is None or fact.value != "past", fact


def test_scots_and_geordie_spellings_are_read() -> None:
    low, _ = normalised("he fell doon wi his hand in his kecks, cannae get up the noo")
    assert low == "he fell down with his hand in his trousers, cant get up the now"
