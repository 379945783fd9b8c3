"""The bot's wording: complete, plain GSM-7, at most two segments with the longest substitutions."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.conversation.gsm import is_gsm7, segments
from app.conversation.replies import choices_text, pack
from app.conversation.wording import REQUIRED, WordingError, load_wording
from app.gazetteer import load_gazetteer
from app.gazetteer.model import StationRef

# The longest names in the full national list a deployment may load instead.
NATIONAL_LONGEST = (
    "Heathrow Terminals 2 & 3 (Rail Station Only)",
    "Rhoose Cardiff International Airport",
    "Prestwick International Airport",
    "London St Pancras International",
    "James Cook University Hospital",
)
LONGEST_REFERENCE = "TL-261128-99999"


def longest_choices() -> tuple[StationRef, ...]:
    names = [station.name for station in load_gazetteer(None).stations]
    assert len(names) > 100  # the built-in list is really there
    longest = sorted(set(names) | set(NATIONAL_LONGEST), key=len, reverse=True)[:5]
    return tuple(StationRef(name, "XXX") for name in longest)


LONGEST = {"reference": LONGEST_REFERENCE, "choices": choices_text(longest_choices())}


def test_built_in_wording_has_every_key() -> None:
    assert set(load_wording(None).templates) == set(REQUIRED)


@pytest.mark.parametrize("key", sorted(REQUIRED))
def test_each_text_is_gsm7_and_at_most_two_segments(key: str) -> None:
    text = load_wording(None).render(key, **LONGEST)
    assert is_gsm7(text), text
    count, encoding = segments(text)
    assert encoding == "GSM-7" and count <= 2, (key, count, len(text))
    for name in REQUIRED[key]:
        assert LONGEST[name] in text


def test_first_reply_says_reference_and_999() -> None:
    w = load_wording(None)
    for key in ("ack", "ack_severe"):
        text = w.render(key, reference=LONGEST_REFERENCE)
        assert LONGEST_REFERENCE in text
        assert "If anyone is in immediate danger, call 999." in text
    assert w.render("ack_severe", reference="x").startswith("If anyone is in immediate danger")


def test_the_usual_first_replies_fit_in_one_text() -> None:
    w = load_wording(None)
    for opening in ("ack", "ack_severe"):
        for question in ("ask_location", "ask_age", "ask_immediacy", "done", "stop_confirm"):
            parts = [w.render(opening, **LONGEST), w.render(question, **LONGEST)]
            assert len(pack(parts)) == 1, (opening, question)
        whitchurch = tuple(
            StationRef(f"Whitchurch ({place})", "XXX")
            for place in ("Cardiff", "Hampshire", "Shropshire")
        )
        choices = w.render("confirm_location", choices=choices_text(whitchurch))
        assert len(pack([w.render(opening, **LONGEST), choices])) == 1


def test_pack_never_makes_a_text_longer_than_two_segments() -> None:
    parts = ["a" * 150, "b" * 150, "c" * 150, "d" * 10]
    texts = pack(parts)
    assert all(segments(t)[0] <= 2 for t in texts)
    assert " ".join(texts) == " ".join(parts)
    assert len(texts) == 2


def write(tmp_path: Path, body: str) -> str:
    path = tmp_path / "wording.yaml"
    path.write_text(body, encoding="utf-8")
    return str(path)


def test_a_file_overrides_a_subset(tmp_path: Path) -> None:
    w = load_wording(write(tmp_path, 'help: "Railway text line. In an emergency call 999."\n'))
    assert w.render("help") == "Railway text line. In an emergency call 999."
    assert w.templates["ask_age"] == load_wording(None).templates["ask_age"]


def test_reference_may_appear_anywhere(tmp_path: Path) -> None:
    w = load_wording(write(tmp_path, 'done: "Thanks. Your reference is {reference}."\n'))
    assert w.render("done", reference="TL-1") == "Thanks. Your reference is TL-1."


def test_an_empty_file_changes_nothing(tmp_path: Path) -> None:
    assert load_wording(write(tmp_path, "")).templates == load_wording(None).templates


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('greeting: "Hello"\n', "unknown wording key 'greeting'"),
        ('ack: "Hello, call 999."\n', "lacks placeholder {reference}"),
        ('confirm_location: "Which one?"\n', "lacks placeholder {choices}"),
        ('ask_age: "How old is {name}?"\n', "unknown placeholder {name}"),
        ('help: "Don\u2019t worry"\n', "not plain GSM-7"),
        ('help: "Hi \U0001f600"\n', "not plain GSM-7"),
        ("help: " + '"' + "x" * 320 + '"\n', "longer than two text segments"),
        ('help: "{"\n', "wording 'help'"),
        ("help: [1, 2]\n", "must be a non-empty string"),
        ("- just a list\n", "must be a mapping"),
        ("help: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_files_are_refused_in_one_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(WordingError) as info:
        load_wording(write(tmp_path, body))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WordingError, match="cannot read wording file"):
        load_wording(str(tmp_path / "nope.yaml"))
