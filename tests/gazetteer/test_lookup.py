import pytest

from app.gazetteer import MAX_CANDIDATES, Gazetteer, Station
from app.gazetteer.model import CUE_ANY, CUE_NONE, CUE_STATION, CUE_STRONG
from tests.gazetteer.lists import LISTS, both


def crs(g: Gazetteer, name: str) -> list[str]:
    return [s.crs for s in g.lookup(name)]


@pytest.mark.parametrize("which", LISTS)
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("luton", "LUT"),  # borne exactly: not Luton Airport Parkway
        ("oxford", "OXF"),
        ("bedford", "BDM"),
        ("leeds", "LDS"),
        ("edinburgh", "EDB"),
        ("swindon", "SWI"),  # "Swindon (Wilts)" is the only Swindon
        ("preston", "PRE"),  # alias: Preston, not Preston Park
        ("waterloo", "WAT"),  # London Waterloo, by alias (documented choice)
        ("victoria", "VIC"),
        ("euston", "EUS"),
        ("paddington", "PAD"),
        ("kings cross", "KGX"),
        ("kings x", "KGX"),
        ("liverpool street", "LST"),
        ("liverpool st", "LST"),
        ("london bridge", "LBG"),
        ("st pancras", "STP"),
        ("charing cross", "CHX"),
        ("clapham jn", "CLJ"),
        ("clapham", "CLJ"),
        ("mcr picc", "MAN"),
        ("brum new st", "BHM"),
        ("new street", "BHM"),
        ("waverley", "EDB"),
        ("glasgow central", "GLC"),
        ("glasgow queen st", "GLQ"),
        ("snow hill", "BSW"),
        ("temple meads", "BRI"),
        ("lime st", "LIV"),
        ("KGX", "KGX"),
        ("Highbury & Islington", "HHY"),
        ("ashford international", "AFK"),
        ("gillingham kent", "GLM"),
        ("Newport (South Wales)", "NWP"),
        ("gatwick", "GTW"),
    ],
)
def test_one_station(which: str, name: str, expected: str) -> None:
    assert crs(both(which), name) == [expected]


@pytest.mark.parametrize("which", LISTS)
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("newport", ["NWP", "NWE"]),
        ("whitchurch", ["WHT", "WCH", "WTC"]),
        ("gillingham", ["GLM", "GIL"]),
        ("ashford", ["AFK", "AFS"]),
        ("glasgow", ["GLC", "GLQ"]),
        ("birmingham", ["BHM", "BMO", "BSW", "BHI"]),
        ("manchester", ["MAN", "MCO", "MCV", "MIA"]),
        ("croydon", ["ECR", "WCY"]),
        ("sutton", ["SUO", "SUT"]),
        ("liverpool", ["LIV", "LVC", "LPY", "LVJ", "LST"]),
    ],
)
def test_ambiguous_names_give_candidates_best_first(
    which: str, name: str, expected: list[str]
) -> None:
    found = crs(both(which), name)
    assert found[: len(expected)] == expected
    assert 2 <= len(found) <= MAX_CANDIDATES


@pytest.mark.parametrize("which", LISTS)
@pytest.mark.parametrize(
    "name", ["bridge", "london", "road", "park", "central", "the", "kgx", "station", "", "   "]
)
def test_generic_words_name_nothing(which: str, name: str) -> None:
    assert crs(both(which), name) == []


def test_ordinary_word_names_need_a_cue() -> None:
    g = both("builtin")
    entry = g.entry("reading")
    assert entry is not None and entry.stations[0].crs == "RDG" and entry.cue == CUE_STRONG
    assert g.entry("paddington").cue == CUE_NONE
    assert (
        g.entry("manchester").cue == CUE_ANY
    )  # a contained word: "at manchester", "to manchester"
    assert g.entry("university").cue == CUE_STATION
    assert both("full").entry("hope").cue == CUE_STRONG
    assert both("full").entry("kemble").cue == CUE_NONE  # a place name, if a little-used one
    assert both("full").entry("ore").cue == CUE_STRONG  # an ordinary word
    assert both("full").entry("cherry").cue == CUE_STRONG  # only begins little-used names


def test_a_small_custom_list_builds_its_own_ambiguities() -> None:
    g = Gazetteer(
        [
            Station("Middleton (Kent)", "MDK", 51.2, 0.5, "B", rank=1),
            Station("Middleton (Lancs)", "MDL", 53.5, -2.2, "C", rank=2),
            Station("Lonely", "LON", 52.0, -1.0, "C", rank=3),
        ]
    )
    assert crs(g, "middleton") == ["MDK", "MDL"]
    assert crs(g, "middleton lancs") == ["MDL"]
    assert crs(g, "lonely") == ["LON"]
    assert crs(g, "waterloo") == []  # built-in aliases only where their stations exist
