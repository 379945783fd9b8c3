"""The location extractor: stations, candidates, platforms, trains and coaches in real texts."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.conversation.extract.location import extract_location, normalise, resolve_choice
from app.conversation.facts import Location
from tests.gazetteer.lists import LISTS, both, full

ORDINARY = [
    line.strip()
    for line in (Path(__file__).parents[1] / "gazetteer" / "ordinary_sentences.txt")
    .read_text()
    .splitlines()
    if line.strip() and not line.startswith("#")
]

# Realistic phrases, with typos and slang, and the station they mean.
PHRASES = [
    ("lad about 14 with 2 older men on plat 4 at clapham jn", "CLJ"),
    ("kid on platform 0 at kings x", "KGX"),
    ("at KGX by the barriers", "KGX"),
    ("King's Cross, by boots", "KGX"),
    ("KINGS X", "KGX"),
    ("outside euston station", "EUS"),
    ("im at paddington", "PAD"),
    ("guy with a knife at waterloo by the departures board", "WAT"),
    ("london waterloo", "WAT"),
    ("at waterloo east", "WAE"),
    ("victoria station near the taxis", "VIC"),
    ("liverpool st station", "LST"),
    ("Liverpool Street", "LST"),
    ("st pancras by the piano", "STP"),
    ("at st pancras international", "STP"),
    ("escalator at london bridge", "LBG"),
    ("charing x", "CHX"),
    ("at cannon st", "CST"),
    ("fenchurch st", "FST"),
    ("marylebone", "MYB"),
    ("blackfriars", "BFR"),
    ("clapham juntion platform 9", "CLJ"),
    ("clapham jct", "CLJ"),
    ("at clapham", "CLJ"),
    ("finsbry park stn", "FPK"),
    ("by the bus stops at finsbury park stn", "FPK"),
    ("manchster piccadily", "MAN"),
    ("MCR picc", "MAN"),
    ("mcr picc platform 13", "MAN"),
    ("brum new st", "BHM"),
    ("birmingham new street", "BHM"),
    ("new street station", "BHM"),
    ("glasgow central", "GLC"),
    ("glasgow queen st", "GLQ"),
    ("platform 2 edinburgh waverley", "EDB"),
    ("at waverley", "EDB"),
    ("at leeds station", "LDS"),
    ("york", "YRK"),
    ("at luton", "LUT"),
    ("luton airport parkway", "LTN"),
    ("footbridge at oxford station", "OXF"),
    ("boy at bedford station late at night", "BDM"),
    ("escalators at highbury and islington", "HHY"),
    ("highbury & islington", "HHY"),
    ("girl at east croydon", "ECR"),
    ("20 mins ago on the platform at vauxhall", "VXH"),
    ("wimbledon station by the barriers", "WIM"),
    ("barriers at exeter st davids", "EXD"),
    ("exeter st. david's", "EXD"),
    ("temple meads", "BRI"),
    ("fell down the stairs at bath spa", "BTH"),
    ("at reading station", "RDG"),
    ("reading stn", "RDG"),
    ("at gatwick", "GTW"),
    ("cardiff central", "CDF"),
    ("2 lads scrapping on platform 2 at swindon", "SWI"),
    ("at preston", "PRE"),
    ("liverpool lime st", "LIV"),
    ("at the back of liverpool central", "LVC"),
    ("end of platform 1 at haywards heath", "HHE"),
    ("milton keynes", "MKC"),
    ("followed me off the train at stevenage", "SVG"),
    ("nicked at crawley station", "CRW"),
    ("at paddingtn", "PAD"),
    ("at eustn", "EUS"),
    ("at vauxall", "VXH"),
    ("waterlo station", "WAT"),
    ("kings corss", "KGX"),
    ("at brighton station", "BTN"),
    ("stairs at worthing station", "WRH"),
    ("at shepherds bush", "SPB"),
    ("elephant & castle", "EPH"),
    ("stoke-on-trent", "SOT"),
    ("a man at sunderland station", "SUN"),
    ("norwich station by the ticket gates", "NRW"),
    ("lad at slough station", "SLO"),
    ("fight on the platform at guildford", "GLD"),
    ("tagging trains at the end of platform 1 at woking", "WOK"),
    ("woman on the edge of platform 3 at basingstoke", "BSK"),
    ("near dartford station", "DFD"),
    ("picked up at bournemouth station", "BMH"),
    ("we just left dewsbury", "DEW"),
    ("in bournemouth by the station", "BMH"),
    ("@ leeds", "LDS"),
]


def loc(text: str, which: str = "builtin") -> Location | None:
    return extract_location(text, both(which))


def test_enough_phrases() -> None:
    assert len(PHRASES) >= 60


@pytest.mark.parametrize("which", LISTS)
@pytest.mark.parametrize(("text", "crs"), PHRASES)
def test_station_phrases(which: str, text: str, crs: str) -> None:
    found = loc(text, which)
    assert found is not None and found.station is not None, text
    assert found.station.crs == crs
    assert found.candidates == ()
    assert found.station.area in ("B", "C", "D")


@pytest.mark.parametrize("which", LISTS)
@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_sentences_give_no_location(which: str, text: str) -> None:
    assert loc(text, which) is None


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("theres a lad at ashford station, maybe 14", ["AFK", "AFS"]),
        ("drunk guy at glasgow shouting abuse", ["GLC", "GLQ"]),
        ("girl crying on her own at birmingham", ["BHM", "BMO", "BSW", "BHI"]),
        ("at newport", ["NWP", "NWE"]),
        ("at gillingham station", ["GLM", "GIL"]),
        ("whitchurch station", ["WHT", "WCH", "WTC"]),
        ("at manchester", ["MAN", "MCO", "MCV", "MIA"]),
    ],
)
def test_ambiguous_stations_give_candidates(text: str, first: list[str]) -> None:
    found = loc(text)
    assert found is not None and found.station is None
    assert [c.crs for c in found.candidates] == first


@pytest.mark.parametrize(
    ("text", "crs"),
    [
        ("at newport in south wales", "NWP"),
        ("newport station, essex", "NWE"),
        ("at gillingham in kent", "GLM"),
        ("at whitchurch (hants)", "WCH"),
        ("ashford in surrey", "AFS"),
    ],
)
def test_a_region_after_an_ambiguous_name_settles_it(text: str, crs: str) -> None:
    found = loc(text)
    assert found is not None and found.station is not None and found.station.crs == crs
    assert found.candidates == ()


def test_candidates_then_choice_round_trip() -> None:
    g = both("builtin")
    found = extract_location("drunk guy at glasgow", g)
    assert found is not None
    pick = resolve_choice("queen street", found.candidates, g)
    assert pick is not None and pick.crs == "GLQ"


@pytest.mark.parametrize(
    ("text", "platform"),
    [
        ("platform 4", "4"),
        ("plat 4", "4"),
        ("pf 4", "4"),
        ("p4 at woking", "4"),
        ("platform 0 at kings x", "0"),
        ("platform 9b", "9b"),
        ("Platform 9B", "9b"),
        ("platform 11 at paddington", "11"),
        ("plat. 2", "2"),
        ("platform no 5", "5"),
        ("platform four", "4"),
        ("platfrom 3", "3"),
        ("on platforms 4", "4"),
        ("platform: 7", "7"),
    ],
)
def test_platforms(text: str, platform: str) -> None:
    found = loc(text)
    assert found is not None and found.platform == platform


@pytest.mark.parametrize(
    "text",
    [
        "hes 14",
        "the 14:32 from york",
        "gave him £4",
        "about 4pm",
        "2 lads",
        "p45 form",
        "20p",
        "platform 14:32",
        "platform 99",
        "my ps4",
        "happened at 14:30",
    ],
)
def test_not_platforms(text: str) -> None:
    found = loc(text)
    assert found is None or found.platform is None


@pytest.mark.parametrize(
    ("text", "coach"),
    [
        ("coach C", "C"),
        ("coach c", "C"),
        ("coach 6", "6"),
        ("carriage 3", "3"),
        ("coach F of the 20:15", "F"),
        ("in coach D, near the toilets", "D"),
        ("coach a, by the door", "A"),
        ("coach number 4", "4"),
        ("3rd carriage", "3"),
        ("the second coach", "2"),
        ("COACH B", "B"),
        ("coach: E", "E"),
        ("coach - 9", "9"),
    ],
)
def test_coaches(text: str, coach: str) -> None:
    found = loc(text)
    assert found is not None and found.coach == coach


@pytest.mark.parametrize(
    "text",
    [
        "the coach a bit further on",
        "coach station",
        "coach 25 mins late",
        "on the coach",
        "coach i think",
        "dont know which coach",
        "the front coach",
        "coach 3 people got off",
        "coach 0",
    ],
)
def test_not_coaches(text: str) -> None:
    found = loc(text)
    assert found is None or found.coach is None


@pytest.mark.parametrize(
    ("text", "train"),
    [
        ("the 14:32 from york to leeds", "14:32 York to Leeds"),
        ("the 18:05 paddington to reading, coach D", "18:05 London Paddington to Reading"),
        ("between wigan and preston", "between Wigan and Preston"),
        ("on the train to leeds, coach B", "to Leeds"),
        ("on the train from hove to worthing", "Hove to Worthing"),
        ("coach F of the 20:15 kings cross to newcastle", "20:15 London Kings Cross to Newcastle"),
        ("on the train from london victoria, coach 6", "from London Victoria"),
        ("on the 14:48 from swindon to cardiff central", "14:48 Swindon to Cardiff Central"),
        (
            "coach 8 of the 09:14 norwich to liverpool st",
            "09:14 Norwich to London Liverpool Street",
        ),
        ("its the 22:10 bristol temple meads to taunton", "22:10 Bristol Temple Meads to Taunton"),
        ("yesterday on the 18:20 from paddington", "18:20 from London Paddington"),
        (
            "the 7pm southend victoria to london liverpool street",
            "7pm Southend Victoria to London Liverpool Street",
        ),
        ("it was the southern train", "Southern"),
        ("between preston and lancaster on the train", "between Preston and Lancaster"),
        ("coach 3 of the train to portsmouth harbour", "to Portsmouth Harbour"),
        ("been on this train 3 stops", "on this train"),
        ("the 1432 from york", "14:32 from York"),
        ("on the 17:45 train", "17:45"),
        ("train from glasgow to edinburgh", "Glasgow to Edinburgh"),
        ("on the avanti to euston", "Avanti to London Euston"),
        ("on the 21:00 avanti to euston", "21:00 Avanti to London Euston"),
        ("im on the thameslink", "Thameslink"),
        ("in coach C of the london northwestern train", "London Northwestern"),
        ("the 18:20 paddington", "18:20 London Paddington"),
    ],
)
def test_trains(text: str, train: str) -> None:
    found = loc(text)
    assert found is not None and found.train == train


def test_train_ends_are_not_the_station() -> None:
    found = loc("the 14:32 from york to leeds")
    assert found is not None and found.station is None
    found = loc("between preston and lancaster, been told to take a bag up to lancaster")
    assert found is not None and found.station is None


def test_station_with_a_train() -> None:
    found = loc("on the 18:20 from paddington, a girl got off at oxford")
    assert found is not None
    assert found.train == "18:20 from London Paddington"
    assert found.station is not None and found.station.crs == "OXF"


@pytest.mark.parametrize(
    "text",
    ["a ticket for the 17:45.", "tagging the trains", "happened at 14:30 i think", "hes 14"],
)
def test_not_trains(text: str) -> None:
    found = loc(text)
    assert found is None or found.train is None


@pytest.mark.parametrize(
    "text",
    [
        "at oxford circus",
        "on the piccadilly line",
        "by leicester square",
        "shopping on oxford st",
        "on the victoria line",
        "a lad from leeds",  # where he came from, not where anyone is
        "a northern lad from leeds",
    ],
)
def test_places_that_are_not_the_station_named(text: str) -> None:
    found = loc(text)
    assert found is None or (found.station is None and found.candidates == ())


def test_where_the_texter_is_now() -> None:
    found = loc("got on at leeds, now at york")
    assert found is not None and found.station is not None and found.station.crs == "YRK"
    found = loc("at leeds, heading to york")
    assert found is not None and found.station is not None and found.station.crs == "LDS"


def test_city_then_station_is_the_station() -> None:
    found = loc("at edinburgh haymarket")
    assert found is not None and found.station is not None and found.station.crs == "HYM"


def test_everything_in_one_text() -> None:
    found = loc("lad about 14 with two older men on platform 4 at clapham jn now")
    assert found is not None
    assert found.station is not None and found.station.crs == "CLJ"
    assert found.station.name == "Clapham Junction" and found.station.area == "B"
    assert found.platform == "4"
    assert found.text == "platform 4 at clapham jn"


def test_evidence_is_the_words_it_came_from() -> None:
    found = loc(
        "coach 4 now. lad about 16 getting threatened by a man who says he owes him for a lost package. its the 22:10 bristol temple meads to taunton"
    )
    assert found is not None
    assert found.text == "coach 4 ... 22:10 bristol temple meads to taunton"
    found = loc("lad at kings x")
    assert found is not None and found.text == "kings x"


def test_normalise_is_exported() -> None:
    assert normalise("Clapham Jn") == "clapham junction"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_no_text_crashes(text: str) -> None:
    found = extract_location(text, both("builtin"))
    assert found is None or isinstance(found, Location)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["at", "platform", "4", "coach", "C", "the", "14:32", "from", "to", "york", "leeds",
             "kings", "x", "newport", "station", "£20", "between", "and", "train", "KGX", "p", ""]
        ),
        max_size=12,
    )
)  # fmt: skip
def test_no_word_salad_crashes(words: list[str]) -> None:
    found = extract_location(" ".join(words), both("builtin"))
    assert found is None or isinstance(found, Location)


@pytest.mark.parametrize(
    ("text", "train"),
    [
        ("on the 15:35 derby to nottingham", "15:35 Derby to Nottingham"),
        ("07:52 wigan to manchester victoria coach 3", "07:52 Wigan to Manchester Victoria"),
        ("the 20:48 reading to newbury", "20:48 Reading to Newbury"),
        ("on the 12:10 out of crewe", "12:10 from Crewe"),
    ],
)
def test_a_train_whose_start_is_a_word_or_a_shared_name(text: str, train: str) -> None:
    loc = extract_location(text, full())
    assert loc is not None and loc.train == train and loc.station is None


@pytest.mark.parametrize("text", ["at 9:30 he went to york", "left at 9:30 back to york"])
def test_a_time_then_going_somewhere_is_not_a_train(text: str) -> None:
    loc = extract_location(text, full())
    assert loc is not None and loc.train is None and loc.station.crs == "YRK"


def test_the_question_is_the_cue_a_bare_name_lacks() -> None:
    g = both("builtin")
    assert extract_location("chester", g) is None  # a surname as often as a place
    found = extract_location("chester", g, answering=True)
    assert found is not None and found.station is not None and found.station.crs == "CTR"
    assert extract_location("fine thanks", g, answering=True) is None
