"""The language of a text and of a conversation: detection, what does not count, stickiness."""

from __future__ import annotations

import pytest

from app.conversation.language import (
    DetectorError,
    Languages,
    load_detector,
    switch_to,
    text_language,
)

DETECT = load_detector()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Mae plentyn tua 12 oed ar y trên o Gaerdydd i Abertawe gyda dyn hŷn", "cy"),
        ("dwi ar y tren i Fangor", "cy"),
        ("Mae dyn efo knife ar y platform", "cy"),  # code-switched, mostly Welsh
        ("there is a man following me on the train", "en"),
        ("hello can someone help pls", "en"),  # fast mode alone calls this Welsh
        ("help me pls", "en"),
        ("Dziecko w pociągu z mężczyzną, boi się", "pl"),
        ("يوجد طفل في القطار مع رجل", "ar"),
        ("hay un niño llorando en el tren", "es"),
    ],
)
def test_text_language(text: str, language: str) -> None:
    assert text_language(text, DETECT) == language


@pytest.mark.parametrize(
    "text", ["ok", "yes", "STOP", "14", "Caerdydd Canolog", "👍👍", "Abertawe!", "ie", "na", ""]
)
def test_short_texts_numbers_names_and_emoji_say_nothing(text: str) -> None:
    assert text_language(text, DETECT) is None


def test_cymraeg_and_english_as_a_whole_text_set_the_language() -> None:
    assert switch_to("Cymraeg") == "cy" and text_language("cymraeg.", DETECT) == "cy"
    assert switch_to(" English ") == "en"
    assert switch_to("I speak English") is None


def test_the_first_text_in_words_sets_the_conversation_and_short_ones_keep_it() -> None:
    langs = Languages(None, None)
    langs = langs.after("ok", None)
    assert langs.conversation is None
    langs = langs.after("Mae dyn yma", "cy")
    assert langs.conversation == "cy"
    for short in ("ok", "yes", "STOP", "14"):
        langs = langs.after(short, None)
        assert langs.conversation == "cy"


def test_one_english_text_does_not_switch_a_welsh_conversation_but_two_do() -> None:
    langs = Languages("cy", "cy").after("he has a knife now", "en")
    assert langs.conversation == "cy"
    assert langs.after("Mae o'n gadael", "cy").conversation == "cy"
    assert langs.after("he is leaving now", "en").conversation == "en"


def test_a_switch_word_changes_at_once() -> None:
    assert Languages("en", "en").after("Cymraeg", "cy").conversation == "cy"


@pytest.mark.parametrize(
    "text",
    [
        "שלום יש ילד ברכבת",  # right to left
        "Mae dyn מסוכן ar y tren 😱 نعم",  # mixed scripts and emoji
        "Ma\u0301e dy\u0302n\u0308 ar y tre\u0302n",  # combining characters
        "\u202eevil override\u202c text here",
        "🚆" * 300,
        "a" * 5000,
    ],
)
def test_hostile_text_neither_crashes_nor_is_changed(text: str) -> None:
    before = str(text)
    text_language(text, DETECT)
    assert text == before


def test_a_detector_that_cannot_load_says_so_in_one_line(monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_lingua(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "lingua":
            raise ImportError("No module named 'lingua'")
        return real_import(name, *args, **kwargs)

    load_detector.cache_clear()
    monkeypatch.setattr(builtins, "__import__", no_lingua)
    try:
        with pytest.raises(DetectorError) as caught:
            load_detector()
    finally:
        monkeypatch.setattr(builtins, "__import__", real_import)
        load_detector.cache_clear()
    message = str(caught.value)
    assert "\n" not in message and message.startswith("language detector cannot load")
