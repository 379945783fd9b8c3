"""Intents: keywords as whole messages, discretion and "don't know" anywhere."""

from __future__ import annotations

import pytest

from app.conversation.extract.intent import detect_intents


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("STOP", "stop"),
        ("stop", "stop"),
        ("Stop.", "stop"),
        ("  stop!! ", "stop"),
        ("STOPALL", "stop"),
        ("stop all", "stop"),
        ("UNSUBSCRIBE", "stop"),
        ("Cancel", "stop"),
        ("end", "stop"),
        ("QUIT", "stop"),
        ("optout", "stop"),
        ("opt out", "stop"),
        ("REVOKE", "stop"),
        ("START", "start"),
        ("unstop", "start"),
        ("Yes", "start"),
        ("YES!", "start"),
        ("HELP", "help"),
        ("help?", "help"),
        ("info", "help"),
    ],
)
def test_keywords(text: str, intent: str) -> None:
    assert detect_intents(text) == frozenset({intent})


@pytest.mark.parametrize(
    "text",
    [
        "he wont stop following me",
        "please stop him",
        "need help",
        "help me hes got a knife",
        "yes right now",
        "the end of platform 1",
        "start of the train",
        "more info on the lad: hes 14",
    ],
)
def test_keywords_only_as_the_whole_message(text: str) -> None:
    assert not detect_intents(text) & {"stop", "start", "help"}


@pytest.mark.parametrize(
    "text",
    [
        "can't talk",
        "cant talk hes right here",
        "dont text back hes next to me",
        "don't reply",
        "wimbledon station, its happening now. they can see my phone dont reply",
        "hes watching me",
        "im hiding in the toilets",
        "cant speak",
        "no texts please",
        "please don't call",
        "he might see my phone",
    ],
)
def test_discreet(text: str) -> None:
    assert "discreet" in detect_intents(text)


@pytest.mark.parametrize(
    "text",
    ["hes next to me on the train", "he is watching football", "talk to you later", "reply soon"],
)
def test_not_discreet(text: str) -> None:
    assert "discreet" not in detect_intents(text)


@pytest.mark.parametrize(
    "text",
    [
        "dont know",
        "don't know",
        "i do not know",
        "not sure",
        "not sure which coach, the front one",
        "no idea",
        "dunno",
        "idk",
        "cant remember the coach",
        "couldnt see",
    ],
)
def test_dont_know(text: str) -> None:
    assert "dont_know" in detect_intents(text)


@pytest.mark.parametrize(
    "text", ["i know him", "no knife", "i didnt see a weapon", "he knows the lad", "14"]
)
def test_not_dont_know(text: str) -> None:
    assert "dont_know" not in detect_intents(text)


def test_several_intents_at_once() -> None:
    assert detect_intents("cant talk, not sure of the coach") == {"discreet", "dont_know"}


def test_plain_report_has_no_intent() -> None:
    assert detect_intents("lad about 14 with 2 older men on plat 4 at clapham jn") == frozenset()
