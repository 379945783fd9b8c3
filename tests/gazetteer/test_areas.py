import csv

import pytest

from app.gazetteer.areas import area_for
from tests.gazetteer.lists import FULL_LIST, builtin, full


@pytest.mark.parametrize(
    ("crs", "area"),
    [
        ("KGX", "B"), ("WAT", "B"), ("CLJ", "B"), ("BTN", "B"), ("AFK", "B"), ("NRW", "B"),
        ("CBG", "B"), ("PBO", "B"), ("RDG", "B"), ("OXF", "B"), ("MKC", "B"), ("BDM", "B"),
        ("BMH", "B"), ("SOU", "B"), ("GLD", "B"), ("CHM", "B"),
        ("BHM", "C"), ("MAN", "C"), ("LDS", "C"), ("YRK", "C"), ("NCL", "C"), ("BRI", "C"),
        ("EXD", "C"), ("SWI", "C"), ("NMP", "C"), ("LEI", "C"), ("PLY", "C"),
        ("CDF", "C"), ("SWA", "C"), ("NWP", "C"), ("BNG", "C"),
        ("EDB", "D"), ("GLC", "D"), ("GLQ", "D"), ("ABD", "D"), ("INV", "D"),
    ],
)  # fmt: skip
def test_builtin_station_areas(crs: str, area: str) -> None:
    st = builtin().get(crs)
    assert st is not None and st.area == area
    assert st.ref().area == area


def test_country_decides_scotland_and_wales() -> None:
    assert area_for("Scotland", 51.5, -0.1) == "D"  # the country wins over the position
    assert area_for("Wales", 51.5, -0.1) == "C"
    assert area_for("England", 55.95, -3.19) == "C"  # never Scotland when England is stated


@pytest.mark.parametrize(
    ("lat", "lon", "area"),
    [
        (55.95, -3.19, "D"),  # Edinburgh, no country given
        (54.90, -5.02, "D"),  # Stranraer, across the Solway
        (55.77, -2.01, "C"),  # Berwick-upon-Tweed is England
        (54.89, -2.93, "C"),  # Carlisle
        (51.48, -3.18, "C"),  # Cardiff
        (51.53, -0.12, "B"),  # London
    ],
)
def test_position_without_country(lat: float, lon: float, area: str) -> None:
    assert area_for(None, lat, lon) == area


def test_position_alone_finds_scotland_for_every_full_list_station() -> None:
    full()
    with FULL_LIST.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    wrong = [
        r["name"]
        for r in rows
        if (area_for(None, float(r["lat"]), float(r["lon"])) == "D") != (r["country"] == "Scotland")
    ]
    assert wrong == []
