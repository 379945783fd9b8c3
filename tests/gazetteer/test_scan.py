from pathlib import Path

import pytest

from app.gazetteer.scan import find_mentions
from tests.gazetteer.lists import LISTS, both

ORDINARY = [
    line.strip()
    for line in (Path(__file__).parent / "ordinary_sentences.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


def found(text: str, which: str = "builtin") -> list[list[str]]:
    return [[s.crs for s in m.stations] for m in find_mentions(text, both(which))]


def test_there_are_enough_ordinary_sentences() -> None:
    assert len(ORDINARY) >= 50


@pytest.mark.parametrize("which", LISTS)
def test_ordinary_sentences_mention_no_station(which: str) -> None:
    hits = {text: found(text, which) for text in ORDINARY}
    assert {t: h for t, h in hits.items() if h} == {}


@pytest.mark.parametrize("which", LISTS)
@pytest.mark.parametrize(
    ("text", "crs"),
    [
        ("clapham juntion", "CLJ"),
        ("finsbry park", "FPK"),
        ("manchster piccadily", "MAN"),
        ("at paddingtn", "PAD"),
        ("at eustn", "EUS"),
        ("waterlo station", "WAT"),
        ("kings corss", "KGX"),
        ("at stevanage", "SVG"),
        ("vauxall station", "VXH"),
        ("edinburgh wavrley", "EDB"),
        ("at peterbrough", "PBO"),
        ("at kings cros", "KGX"),  # "cross", not "croes": the word more names use
        ("at milton keyens", "MKC"),  # the corrected phrase beats the exact "milton"
        ("at st pancreas", "STP"),
        ("at liverpol street", "LST"),
        ("at clapham junktion", "CLJ"),
    ],
)
def test_typos(which: str, text: str, crs: str) -> None:
    assert found(text, which) == [[crs]]


@pytest.mark.parametrize("which", LISTS)
@pytest.mark.parametrize(
    "text",
    [
        "leads",  # a word, not a typo for Leeds
        "at heading",
        "paddingtn",  # one typo'd word alone needs a cue
        "the match",
        "going home",
        "a large bag",
    ],
)
def test_words_near_names_are_not_typos(which: str, text: str) -> None:
    assert found(text, which) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("at KGX now", [["KGX"]]),
        ("KGX", [["KGX"]]),
        ("at kgx", []),  # lower case only as "kgx station"
        ("at sea", []),
        ("at bay", []),
        ("kgx station", [["KGX"]]),
        ("kgx", []),  # lower case without a cue: could be anything
        ("THE MAN HAS A BAG", []),
        ("HE IS AT KGX NOW", [["KGX"]]),  # shouting, but "at" says it is a place
        ("HELP HE HAS A KNIFE AND HES ON THE SEAT", []),
        ("lad from the UNI being followed", []),  # an acronym, not University (Birmingham)
        ("reported it to BTP", []),
        ("on the DLR", []),
    ],
)
def test_crs_codes(text: str, expected: list[list[str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("reading a book", []),
        ("at reading", [["RDG"]]),
        ("reading station", [["RDG"]]),
        ("the train to reading", [["RDG"]]),
        ("paddington to reading", [["PAD"], ["RDG"]]),
        ("going to deal with it", []),
        ("in march", []),
        ("shes at university", []),
        ("university station", [["UNI"]]),
        ("at the", []),
        ("at manchester", [["MAN", "MCO", "MCV", "MIA"]]),
        ("manchester fans", []),  # a contained word needs a cue
    ],
)
def test_cues_for_ordinary_word_names(text: str, expected: list[list[str]]) -> None:
    assert found(text) == expected


def test_longest_name_wins() -> None:
    assert found("london waterloo east") == [["WAE"]]
    assert found("new cross gate") == [["NXG"]]
    assert found("kings cross st pancras") == [["KGX"]]


def test_little_used_names_in_the_full_list() -> None:
    assert found("hope you are ok", "full") == []
    assert found("get off at hope", "full") == [["HOP", "HPE"]]
    assert found("at wool station", "full") == [["WOO"]]
    assert found("aldershot", "full") == [["AHT"]]  # a bare answer to "where are you?"
    assert found("at the lakes", "full") == []
    assert found("the lakes station", "full") == [["TLK"]]
    assert found("at stone", "full") == [["SNE"]]  # not Watton-at-Stone
    assert found("in fairness", "full") == []  # not "in furness"
    assert found("in cherry", "full") == []
