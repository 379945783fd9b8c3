"""GSM-7 detection and segment counting (160/153 septets, 70/67 UCS-2 units)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.conversation.gsm import (
    GSM7,
    GSM7_MULTI,
    GSM7_SINGLE,
    UCS2_MULTI,
    UCS2_SINGLE,
    _count,
    _septets,
    _utf16_units,
    is_gsm7,
    segments,
    to_gsm7,
)


@pytest.mark.parametrize(
    "text",
    [
        "Hello, call 999.",
        "£20 @ platform 4 & coach C",
        "Ça, Øre, Ñ, ü, à, ¿¡",
        "a{b}c[d]e~f|g^h\\€",
        "",
    ],
)
def test_gsm7_texts(text: str) -> None:
    assert is_gsm7(text)


@pytest.mark.parametrize(
    "text", ["Don\u2019t", "\u201cquoted\u201d", "dash \u2014", "ok \U0001f44d", "ŵ"]
)
def test_non_gsm7_texts(text: str) -> None:
    assert not is_gsm7(text)


@pytest.mark.parametrize(
    ("length", "expected"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_gsm7_segment_limits(length: int, expected: int) -> None:
    assert segments("a" * length) == (expected, "GSM-7")


def test_extension_characters_count_double() -> None:
    assert segments("{" * 80) == (1, "GSM-7")
    assert segments("{" * 81) == (2, "GSM-7")
    assert segments("€" * 80 + "a") == (2, "GSM-7")


def test_an_escape_pair_is_not_split_across_segments() -> None:
    # 152 plain septets then a two-septet character: it cannot end segment one.
    text = "a" * 152 + "[" + "a" * 152
    assert segments(text) == (3, "GSM-7")
    assert segments("a" * 151 + "[" + "a" * 153) == (2, "GSM-7")


@pytest.mark.parametrize(("length", "expected"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_segment_limits(length: int, expected: int) -> None:
    assert segments("\u2019" * length) == (expected, "UCS-2")


def test_one_curly_quote_makes_the_whole_text_ucs2() -> None:
    text = "a" * 100 + "\u2019"
    assert segments(text) == (2, "UCS-2")
    assert segments(text.replace("\u2019", "'")) == (1, "GSM-7")


def test_emoji_take_two_units_and_are_not_split() -> None:
    assert segments("\U0001f600" * 35) == (1, "UCS-2")
    assert segments("\U0001f600" * 36) == (2, "UCS-2")
    assert segments("a" + "\U0001f600" * 34) == (1, "UCS-2")  # 69 units
    assert segments("a" * 66 + "\U0001f600" + "a" * 66) == (3, "UCS-2")


def test_empty_text_is_no_segment() -> None:
    assert segments("") == (0, "GSM-7")


def test_to_gsm7_makes_plain_text() -> None:
    assert (
        to_gsm7("Don\u2019t \u201cpanic\u201d \u2014 Ystradgynlais\u2026")
        == 'Don\'t "panic" - Ystradgynlais...'
    )
    assert to_gsm7("Llanfair\u0175") == "Llanfairw"
    assert to_gsm7("ok \U0001f44d") == "ok ?"
    assert is_gsm7(to_gsm7("Ŵ ŷ ž \u00a0 \u2013"))


_MIXED = "a€😀é\u2019 "


@given(st.text(alphabet=st.sampled_from(sorted(GSM7) + list(_MIXED)), max_size=700))
def test_counting_by_length_agrees_with_counting_each_character(text: str) -> None:
    """segments() counts a text of one-unit characters by its length; character by character
    it must come to the same."""
    if is_gsm7(text):
        assert segments(text) == (_count(text, _septets, GSM7_SINGLE, GSM7_MULTI), "GSM-7")
    else:
        assert segments(text) == (_count(text, _utf16_units, UCS2_SINGLE, UCS2_MULTI), "UCS-2")
