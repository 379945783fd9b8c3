"""Named regions ("kent", "south wales", "the one in surrey") for telling candidates apart."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.gazetteer.model import Station
from app.gazetteer.normalise import normalise

_REGIONS_FILE = Path(__file__).with_name("regions.csv")


@dataclass(frozen=True, slots=True)
class Region:
    name: str
    country: str | None
    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float

    def contains(self, station: Station) -> bool:
        if self.country and station.country:
            if station.country.lower() != self.country.lower():
                return False
            if self.name in ("wales", "scotland", "england"):
                return True  # the whole country: the box is only for stations without one
        return (
            self.lat_min <= station.lat <= self.lat_max
            and self.lon_min <= station.lon <= self.lon_max
        )


@lru_cache(maxsize=1)
def regions() -> dict[str, Region]:
    """Every normalised region name and synonym, to its region."""
    out: dict[str, Region] = {}
    with _REGIONS_FILE.open(encoding="utf-8", newline="") as f:
        lines = (line for line in f if line.strip() and not line.startswith("#"))
        for row in csv.DictReader(lines):
            names = [normalise(n) for n in row["name"].split("|")]
            region = Region(
                name=names[0],
                country=row["country"] or None,
                lat_min=float(row["lat_min"]),
                lat_max=float(row["lat_max"]),
                lon_min=float(row["lon_min"]),
                lon_max=float(row["lon_max"]),
            )
            for n in names:
                out[n] = region
    return out


def regions_in(text: str) -> list[Region]:
    """Regions named in a text, longest names first ("south wales" before "wales")."""
    words = normalise(text).split()
    table = regions()
    found: list[Region] = []
    i = 0
    while i < len(words):
        for length in (3, 2, 1):
            phrase = " ".join(words[i : i + length])
            if len(words) - i >= length and phrase in table:
                found.append(table[phrase])
                i += length
                break
        else:
            i += 1
    return found
