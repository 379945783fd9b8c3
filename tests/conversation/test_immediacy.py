"""Immediacy: now, recent, past or unknown, with the words that say so."""

from __future__ import annotations

import pytest

from app.conversation.extract.immediacy import extract_immediacy

CASES = [
    # now
    ("happening now", "now"),
    ("fight on the platform at guildford right now", "now"),
    ("rn yeah", "now"),
    ("its now", "now"),
    ("still here", "now"),
    ("ya hes still at it", "now"),
    ("now, hes still on the bridge", "now"),
    ("its going on now", "now"),
    ("yes still going on", "now"),
    ("it's happening as we speak", "now"),
    ("hes there atm", "now"),
    ("he just pulled it on someone, happening right now", "now"),
    ("man just grabbed a girls bum and hes following her now", "now"),
    ("it just happened, hes still here now", "now"),
    ("a man is shouting at a woman and just slapped her", "now"),
    ("some guy keeps staring at me", "now"),
    # recent
    ("5 mins ago", "recent"),
    ("20 mins ago on the platform at vauxhall", "recent"),
    ("this was like 15 mins ago", "recent"),
    ("about 10 mins ago", "recent"),
    ("ten minutes ago", "recent"),
    ("an hour ago", "recent"),
    ("half an hour ago", "recent"),
    ("a few mins ago", "recent"),
    ("just now", "recent"),
    ("it just happened", "recent"),
    ("he just grabbed her bag and ran", "recent"),
    ("not anymore", "recent"),
    ("its over, they got off at reading", "recent"),
    ("hes gone now", "recent"),
    ("not happening now", "recent"),
    ("just drove off", "recent"),
    ("they ran off towards the car park", "recent"),
    # past
    ("2 hours ago", "past"),
    ("an hour and a half ago", "past"),
    ("90 mins ago", "past"),
    ("yesterday on the 18:20 from paddington", "past"),
    ("last friday i saw a boy maybe 15", "past"),
    ("last week", "past"),
    ("a man exposed himself to me last tuesday evening", "past"),
    ("this morning", "past"),
    ("earlier today", "past"),
    ("3 days ago", "past"),
    ("shes been gone since 8 this morning", "past"),
    # the most recent stated time wins
    ("yesterday and again 10 mins ago", "recent"),
]


@pytest.mark.parametrize(("text", "value"), CASES)
def test_immediacy(text: str, value: str) -> None:
    fact = extract_immediacy(text)
    assert fact is not None, text
    assert fact.value == value
    assert fact.text and fact.text.lower() in text.lower()


ANSWERS = [
    ("ya", "now"),
    ("yeah", "now"),
    ("yep", "now"),
    ("Yes!", "now"),
    ("no", "recent"),
    ("nah", "recent"),
    ("dont know", "unknown"),
    ("not sure", "unknown"),
    ("no idea", "unknown"),
    ("yes, 2 hours ago", "past"),
    ("no hes still there", "now"),
    ("not sure, maybe 10 mins ago", "recent"),
]


@pytest.mark.parametrize(("text", "value"), ANSWERS)
def test_answers_to_is_it_happening_now(text: str, value: str) -> None:
    fact = extract_immediacy(text, answering=True)
    assert fact is not None and fact.value == value


@pytest.mark.parametrize("text", ["ya", "yeah", "yep", "no", "dont know", "not sure"])
def test_bare_answers_need_the_question(text: str) -> None:
    assert extract_immediacy(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "lad at slough station with a man",
        "we just left dewsbury",
        "i know him",
        "nowhere to go",
        "the 14:32 to leeds",
        "5 mins away",
        "hes about 14",
        "standing still",
    ],
)
def test_no_immediacy(text: str) -> None:
    assert extract_immediacy(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "its now 9:30",
        "it's now 9.30pm",
        "its now half 9",
        "it is now quarter past 9",
        "its 9:30 now",
    ],
)
def test_telling_the_time_is_not_happening_now(text: str) -> None:
    assert extract_immediacy(text) is None


@pytest.mark.parametrize(
    ("text", "value", "words"),
    [
        ("its now 9:30 and hes still following me", "now", "still following"),
        ("its now 9:30, he is shouting at her", "now", "is shouting"),
        ("its now 9:30, he got off 10 mins ago", "recent", "10 mins ago"),
        ("hes there now", "now", "now"),
        ("right now on platform 2", "now", "right now"),
        ("now at 9:30 he got on", "now", "now"),
    ],
)
def test_other_signs_still_count_beside_the_time(text: str, value: str, words: str) -> None:
    fact = extract_immediacy(text)
    assert fact is not None and (fact.value, fact.text) == (value, words)


def test_travel_is_not_the_incident_but_the_incident_is() -> None:
    fact = extract_immediacy("we just left dewsbury and a man just grabbed her phone")
    assert fact is not None and fact.value == "recent" and "grabbed" in fact.text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("girl crying man grabbing her coach b", "now"),
        ("5 or 6 of em laying into one guy outside", "now"),
        ("she is alone at inverness station at 2am, says she ran away", "now"),
        ("theres a boy sat on his own at carlisle, he came this afternoon", "now"),
        ("woman in the toilet not responding", "now"),
        ("man has climbed over the railings on the footbridge", "now"),
        ("he pushed her but they've gone off different ways now", "recent"),
        ("a man pressed against me half an hour ago, he got off, im at work now", "recent"),
        ("im asking for my nan, someone got stabbed there last week", "past"),
        ("yesterday a girl was sat on the wall of the footbridge", "past"),
        ("i saw a man grabbing her last night", "past"),
        ("last thursday a man groped me, only just felt able to report it", "past"),
        ("there was a scuffle around lunchtime, its 6pm now", "past"),
        ("last night he hit her but hes fine now", "past"),
    ],
)
def test_how_people_tell_the_time_of_it(text: str, value: str) -> None:
    fact = extract_immediacy(text)
    assert fact is not None and fact.value == value, fact
