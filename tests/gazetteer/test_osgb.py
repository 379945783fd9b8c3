import csv
from math import cos, radians

import pytest

from app.gazetteer.osgb import grid_to_wgs84
from tests.gazetteer.lists import FULL_LIST, full


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat1 - lat2) * 111_195
    dx = (lon1 - lon2) * 111_195 * cos(radians(lat1))
    return (dx * dx + dy * dy) ** 0.5


def test_known_point_kings_cross() -> None:
    # London Kings Cross, grid 530300 183000 (ORR); WGS84 51.5309, -0.1229.
    lat, lon = grid_to_wgs84(530300, 183000)
    assert _metres(lat, lon, 51.5309, -0.1229) < 30


def test_known_point_glasgow_central() -> None:
    lat, lon = grid_to_wgs84(258794, 665257)
    assert _metres(lat, lon, 55.8598, -4.2576) < 30


def test_every_station_of_the_full_list_within_ten_metres() -> None:
    full()  # skip or fail as the list's presence demands
    with FULL_LIST.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["easting"]]
    assert len(rows) > 2500
    worst = max(
        _metres(
            *grid_to_wgs84(float(r["easting"]), float(r["northing"])),
            float(r["lat"]),
            float(r["lon"]),
        )
        for r in rows
    )
    assert worst < 10


@pytest.mark.parametrize(("e", "n"), [(0, 0), (700000, 1250000), (100000, 10000)])
def test_corners_of_the_grid_give_sane_coordinates(e: float, n: float) -> None:
    lat, lon = grid_to_wgs84(e, n)
    assert 49 < lat < 62 and -10 < lon < 4
