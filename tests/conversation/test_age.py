"""Age extraction: what counts as an age, what never does, and which age a report is about."""

from __future__ import annotations

import pytest

from app.conversation.extract.age import extract_age
from app.conversation.extract.numbers import number_value

# text, min, max, child
POSITIVE = [
    ("14", 14, 14, True),
    ("lad, 16 maybe", 15, 17, True),
    ("14yo", 14, 14, True),
    ("14 y/o", 14, 14, True),
    ("my 15 year old got picked up", 15, 15, True),
    ("a 15-year-old boy", 15, 15, True),
    ("fourteen", 14, 14, True),
    ("she told me shes fourteen", 14, 14, True),
    ("thirteen or fourteen", 13, 14, True),
    ("13 or 14", 13, 14, True),
    ("13-14", 13, 14, True),
    ("12/13", 12, 13, True),
    ("between 13 and 15", 13, 15, True),
    ("about 14", 13, 15, True),
    ("14ish", 13, 15, True),
    ("looks about 16", 15, 17, True),
    ("maybe 15", 14, 16, True),
    ("13 i reckon", 12, 14, True),
    ("girl looks 14 being told what to do", 13, 15, True),
    ("a girl of 12 on her own crying", 12, 12, True),
    ("boy whos 14 with 3 older lads", 14, 14, True),
    ("my daughter is 16 and missing", 16, 16, True),
    ("aged 14", 14, 14, True),
    ("age: 12", 12, 12, True),
    ("young teen", 12, 15, True),
    ("teenager", 13, 19, None),
    ("mid teens", 14, 16, True),
    ("primary school age", 5, 11, True),
    ("girl in school uniform on her own", 5, 17, True),
    ("kid on platform 0 with older guys", 4, 17, True),
    ("lil yute dealing by the bus stops", 8, 15, True),
    ("little girl on her own", 3, 11, True),
    ("in year 9", 13, 14, True),
    ("under 16", None, 15, True),
    ("theyre all grown men", 18, None, False),
    ("20s and 30s", 20, 39, False),
    ("maybe 30s", 30, 39, False),
    ("shes in her 60s", 60, 69, False),
    ("in his early 40s", 40, 43, False),
    ("late 20s", 26, 29, False),
    ("old man fell down the stairs", 60, None, False),
    ("a student", 16, 25, None),
    ("im 29", 29, 29, False),
    ("its mine, im 52", 52, 52, False),
    ("shes about 25", 23, 27, False),
    ("the girls looked about 20", 18, 22, False),
    ("about 45", 42, 48, False),
    ("80ish", 77, 83, False),
    ("hes twenty-five", 25, 25, False),
    ("about 17", 16, 18, None),
    ("16 at most", 14, 16, True),
    ("18+", 18, None, False),
    ("30 or older", 30, None, False),
    ("the man is 40 the girl is 13", 13, 13, True),
    ("fifty odd", 47, 53, False),
    ("i am 17", 17, 17, True),
    ("they're 20 somethings", 20, 29, False),
    ("she's about 14", 13, 15, True),
    ("(14)", 14, 14, True),
    ("boy (12) on platform 3", 12, 12, True),
    ("boy(12) on platform 3", 12, 12, True),
    ("age 12-13", 12, 13, True),
    ("she is 14 <3", 14, 14, True),
]


@pytest.mark.parametrize(("text", "lo", "hi", "child"), POSITIVE)
def test_reads_an_age(text: str, lo: int | None, hi: int | None, child: bool | None) -> None:
    age = extract_age(text)
    assert age is not None, text
    assert (age.min, age.max, age.child) == (lo, hi, child)
    assert age.text and age.text in text


NEGATIVE = [
    "the 14:32 from york to leeds",
    "yesterday on the 18:20 from paddington",
    "platform 14",
    "plat 4",
    "coach 6",
    "coach 8 of the 09:14 norwich to liverpool st",
    "2 lads scrapping on platform 2",
    "3 men fighting",
    "group of 5",
    "group of 5 lads",
    "2 older men",
    "2 or 3 of them",
    "£20",
    "20 quid",
    "he had £400 on him",
    "20 mins ago",
    "5 minutes",
    "this was like 15 mins ago",
    "about 10 mins ago",
    "been on this train 3 stops",
    "its the 1A23",
    "last friday",
    "on the 28th",
    "call me on 07700900123",
    "07700 900123",
    "since 8 this morning",
    "at 14:30",
    "the platform is 4",
    "hes 6 foot",
    "seat 42",
    "my old man",
    "last year 2 lads",
    "year 2 lads",
    "the 80s",
    "he has a blue nike bag",
    "happening now",
    "been doing it for 2 years",
    "2 years ago",
    '<img src=x onerror="window.__xss=2">',
]


@pytest.mark.parametrize("text", NEGATIVE)
def test_not_an_age(text: str) -> None:
    assert extract_age(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The young person, not the adult with them.
        ("girl maybe 15 crying on her own, says her boyfriend whos 25 left her", 15),
        ("man about 40 with a girl of 12", 12),
        # A number beats a description of the same person.
        ("a kid of about 13 carrying a bag", 13),
        ("lad about 14 with 2 older men on plat 4 at clapham jn", 14),
        (
            "platform 11 at paddington, boy whos 14 with 3 older lads, handed him £50 "
            "and a ticket for the 17:45",
            14,
        ),
        (
            "been on this train 3 stops, coach 4, lad about 16 getting threatened. "
            "its the 22:10 bristol temple meads to taunton",
            16,
        ),
        # The texter's own age is still an age when nobody younger is named.
        ("im 24 and a man about 40 keeps following me", 24),
        ("saw a lad, 16 maybe, get handed cash by 2 men. like 15 mins ago", 16),
        ("20 mins ago a group of older lads were making a kid of about 13 carry a bag", 13),
    ],
)
def test_chooses_the_age_the_report_is_about(text: str, expected: int) -> None:
    age = extract_age(text)
    assert age is not None
    assert age.min is not None and age.max is not None
    assert age.min <= expected <= age.max


def test_a_child_is_preferred_to_an_adult_whatever_the_order() -> None:
    first = extract_age("his boyfriend whos 25 and the girl maybe 15")
    assert first is not None and first.child is True


def test_bare_numbers_depend_on_what_was_asked() -> None:
    long_reply = "well he is on the platform, i would guess 14 from the look of him"
    assert extract_age("14", answering=False) is None
    assert extract_age("ok so 14 or so", answering=False) is not None  # "or so" marks it
    assert extract_age("the one by the doors with the red hat 14", answering=None) is None
    assert extract_age("the one by the doors with the red hat 14", answering=True) is not None
    assert extract_age(long_reply) is not None  # "guess 14" is a cue


def test_years_without_old_is_an_age_only_as_an_answer() -> None:
    age = extract_age("14 yrs", answering=True)
    assert age is not None and (age.min, age.max, age.text) == (14, 14, "14 yrs")
    assert extract_age("he has been at it for 2 years now, poor lad", answering=None) is None


def test_answering_does_not_make_a_time_an_age() -> None:
    assert extract_age("the 14:32", answering=True) is None
    assert extract_age("platform 4", answering=True) is None
    assert extract_age("2 lads", answering=True) is None


@pytest.mark.parametrize(
    "text",
    [
        "<img src=x onerror=alert(2)>",
        "<svg onload=alert(13)>",
        '<a title="aged 14">',
        "alert(2)",
        "f(12)",
        "console.log(13)",
    ],
)
def test_a_number_in_markup_or_code_is_not_an_age(text: str) -> None:
    assert extract_age(text) is None
    assert extract_age(text, answering=True) is None


def test_an_age_beside_markup_is_still_read() -> None:
    age = extract_age("<img src=x onerror=alert(2)> she is 14", answering=True)
    assert age is not None and (age.min, age.max, age.text) == (14, 14, "she is 14")


def test_text_is_the_words_the_age_came_from() -> None:
    age = extract_age("Girl About 13 with a much older man")
    assert age is not None and age.text == "Girl About 13"


@pytest.mark.parametrize(
    ("word", "value"),
    [
        ("12", 12),
        ("twelve", 12),
        ("twenty-five", 25),
        ("twenty one", 21),
        ("thirty", 30),
        ("nine", 9),
        ("kite", None),
    ],
)
def test_number_value(word: str, value: int | None) -> None:
    assert number_value(word) == value


@pytest.mark.parametrize(
    ("text", "lo", "hi", "child"),
    [
        ("boy cant be more than 14", 11, 14, True),
        ("she can't be over 16", 13, 16, True),
        ("no older than 12", 9, 12, True),
        ("a gang of year 9s", 13, 14, True),
        ("a sixth former", 16, 18, None),
        ("a nipper on his own", 3, 12, True),
        ("wee lassie crying", 3, 12, True),
        ("girl in school trousers", 5, 17, True),
        ("fifteen he says", 14, 16, True),
        ("She have 15 years", 15, 15, True),
    ],
)
def test_ages_in_words(text: str, lo: int | None, hi: int | None, child: bool | None) -> None:
    age = extract_age(text)
    if lo is None and hi is None:
        assert age is None or age.child is not False
        return
    assert age is not None and (age.min, age.max, age.child) == (lo, hi, child)


@pytest.mark.parametrize("text", ["last night bout 11 he came back", "on the 14:32", "coach 13"])
def test_times_and_numbers_after_a_time_of_day_are_not_ages(text: str) -> None:
    assert extract_age(text) is None
