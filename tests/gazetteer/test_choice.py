import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.gazetteer.choice import resolve_choice
from app.gazetteer.model import StationRef
from tests.gazetteer.lists import LISTS, both


def candidates(which: str, name: str) -> tuple[StationRef, ...]:
    return tuple(s.ref() for s in both(which).lookup(name))


@pytest.mark.parametrize("which", LISTS)
@pytest.mark.parametrize(
    ("ambiguous", "answer", "crs"),
    [
        ("newport", "1", "NWP"),
        ("newport", "2", "NWE"),
        ("newport", "no 2", "NWE"),
        ("newport", "number 2 please", "NWE"),
        ("newport", "2.", "NWE"),
        ("newport", "the second", "NWE"),
        ("newport", "the second one", "NWE"),
        ("newport", "first", "NWP"),
        ("newport", "the last one", "NWE"),
        ("newport", "in wales", "NWP"),
        ("newport", "the welsh one", "NWP"),
        ("newport", "essex", "NWE"),
        ("newport", "newport south wales", "NWP"),
        ("glasgow", "queen street", "GLQ"),
        ("glasgow", "queen st", "GLQ"),
        ("glasgow", "central", "GLC"),
        ("glasgow", "glasgow central", "GLC"),
        ("birmingham", "snow hill", "BSW"),
        ("birmingham", "new st", "BHM"),
        ("birmingham", "moor street", "BMO"),
        ("birmingham", "the international one", "BHI"),
        ("ashford", "ashford international", "AFK"),
        ("ashford", "the one in kent", "AFK"),
        ("ashford", "surrey", "AFS"),
        ("ashford", "international", "AFK"),
        ("gillingham", "kent", "GLM"),
        ("gillingham", "the dorset one", "GIL"),
        ("whitchurch", "hampshire", "WCH"),
        ("whitchurch", "hants", "WCH"),
        ("whitchurch", "the one in cardiff", "WHT"),
        ("whitchurch", "shropshire", "WTC"),
        ("manchester", "picc", "MAN"),
        ("manchester", "victoria", "MCV"),  # the Manchester one, not London Victoria
        ("manchester", "oxford road", "MCO"),
        ("manchester", "airport", "MIA"),
        ("manchester", "manchester piccadilly", "MAN"),
        ("manchester", "piccadily", "MAN"),
    ],
)
def test_choices(which: str, ambiguous: str, answer: str, crs: str) -> None:
    pick = resolve_choice(answer, candidates(which, ambiguous), both(which))
    assert pick is not None and pick.crs == crs


@pytest.mark.parametrize(
    "answer", ["dunno", "", "   ", "9", "0", "yes", "the one near the shops", "hes 14"]
)
def test_no_choice(answer: str) -> None:
    assert resolve_choice(answer, candidates("builtin", "newport"), both("builtin")) is None


def test_a_station_outside_the_choices_is_taken_at_its_word() -> None:
    pick = resolve_choice("no im at paddington", candidates("builtin", "newport"), both("builtin"))
    assert pick is not None and pick.crs == "PAD"


def test_the_plain_name_is_the_main_one() -> None:
    g = both("builtin")
    options = (g.get("OXF").ref(), g.get("OXP").ref())
    assert resolve_choice("just oxford, the main one", options, g).crs == "OXF"
    assert resolve_choice("the main one", options, g).crs == "OXF"
    assert resolve_choice("parkway", options, g).crs == "OXP"
    options = (g.get("BDM").ref(), g.get("LTN").ref())
    assert resolve_choice("just bedford, the main station", options, g).crs == "BDM"


def test_no_candidates() -> None:
    assert resolve_choice("1", (), both("builtin")) is None


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_no_answer_crashes(text: str) -> None:
    options = candidates("builtin", "birmingham")
    pick = resolve_choice(text, options, both("builtin"))
    assert pick is None or isinstance(pick, StationRef)
