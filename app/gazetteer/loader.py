"""Loading a station list: the built-in busiest stations, a name,crs,lat,lon CSV, or NaPTAN.

A file that cannot be used raises GazetteerError with one line naming the file and line.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from app.gazetteer.areas import area_for
from app.gazetteer.model import OBSCURE_RANK, Gazetteer, Station
from app.gazetteer.normalise import normalise
from app.gazetteer.osgb import grid_to_wgs84
from app.gazetteer.welsh_names import is_english, mutations

_HERE = Path(__file__).parent
BUILTIN_STATIONS = _HERE / "stations.csv"
BUILTIN_ALIASES = _HERE / "aliases.csv"
WELSH_ALIASES = _HERE / "aliases_cy.csv"

_NAPTAN_COLUMNS = {"crscode", "stationname", "easting", "northing"}
_PLAIN_COLUMNS = {"name", "crs", "lat", "lon"}
# Great Britain with a margin; catches swapped or garbled columns.
_LAT_RANGE, _LON_RANGE = (49.0, 61.5), (-9.0, 2.5)


class GazetteerError(Exception):
    """A station file that cannot be read or makes no sense; the message is one line."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def load_gazetteer(path: str | None = None) -> Gazetteer:
    """None: the built-in list. A path: a CSV with header name,crs,lat,lon (optional
    country, alt_names) or NaPTAN's RailReferences.csv."""
    if path is None:
        return _builtin()
    return _with_aliases(read_stations(path))


@lru_cache(maxsize=1)
def _builtin() -> Gazetteer:
    return _with_aliases(read_stations(str(BUILTIN_STATIONS)))


def _with_aliases(stations: list[Station]) -> Gazetteer:
    """The stations with the built-in aliases, and the mutated forms of every Welsh station's
    own name ("o Lanelli", "ym Mhorthmadog"), where such a form is no other name or word."""
    aliases = dict(_builtin_aliases())
    names = {normalise(n) for st in stations for n in (st.name, *st.alt_names)}
    for st in stations:
        if st.country != "Wales":
            continue
        plain = st.name.split(" (")[0]
        for form in mutations(plain)[1:]:
            key = normalise(form)
            if key in names or key in aliases or is_english(key.split()[0]):
                continue
            aliases[key] = (st.crs,)
    return Gazetteer(stations, aliases=aliases)


@lru_cache(maxsize=1)
def _builtin_ranks() -> dict[str, int]:
    with BUILTIN_STATIONS.open(encoding="utf-8", newline="") as f:
        return {row["crs"]: i for i, row in enumerate(csv.DictReader(f))}


@lru_cache(maxsize=1)
def _builtin_aliases() -> dict[str, tuple[str, ...]]:
    aliases: dict[str, tuple[str, ...]] = {}
    with BUILTIN_ALIASES.open(encoding="utf-8", newline="") as f:
        lines = (line for line in f if line.strip() and not line.startswith("#"))
        for row in csv.DictReader(lines):
            aliases[row["alias"]] = tuple(
                c.strip().upper() for c in row["crs"].split(";") if c.strip()
            )
    with WELSH_ALIASES.open(encoding="utf-8", newline="") as f:
        lines = (line for line in f if line.strip() and not line.startswith("#"))
        for row in csv.DictReader(lines):
            for form in mutations(row["alias"]):
                aliases.setdefault(form, (row["crs"].strip().upper(),))
    return aliases


def read_stations(path: str) -> list[Station]:
    reader: csv.DictReader | None = None
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            header = {h.strip().lower() for h in (reader.fieldnames or []) if h}
            if _PLAIN_COLUMNS <= header:
                stations = _read_plain(path, reader)
            elif _NAPTAN_COLUMNS <= header:
                stations = _read_naptan(path, reader)
            else:
                raise GazetteerError(
                    f"{path}, line 1: not a station list (need columns name,crs,lat,lon "
                    "or NaPTAN's CrsCode,StationName,Easting,Northing)"
                )
    except OSError as exc:
        raise GazetteerError(f"{path}: cannot read station list ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise GazetteerError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        line = reader.line_num + 1 if reader is not None else 1  # the line being read
        raise GazetteerError(f"{path}, line {line}: malformed CSV ({exc})") from exc
    if not stations:
        raise GazetteerError(f"{path}: no stations in the file")
    return stations


def _clean(row: dict[str | None, str | list[str] | None]) -> dict[str, str]:
    return {
        k.strip().lower(): (v.strip() if isinstance(v, str) else "") for k, v in row.items() if k
    }


def _crs(path: str, line: int, value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise GazetteerError(
            f"{path}, line {line}: bad CRS code {value!r} (three letters expected)"
        )
    return code


def _coordinate(path: str, line: int, label: str, value: str, bounds: tuple[float, float]) -> float:
    try:
        number = float(value)
    except ValueError:
        raise GazetteerError(f"{path}, line {line}: bad {label} {value!r}") from None
    if not bounds[0] <= number <= bounds[1]:
        raise GazetteerError(f"{path}, line {line}: {label} {value!r} is outside Great Britain")
    return number


def _rank(crs: str, index: int) -> int:
    return _builtin_ranks().get(crs, OBSCURE_RANK + index)


def _read_plain(path: str, reader: csv.DictReader) -> list[Station]:
    stations: list[Station] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(reader):
        line = reader.line_num
        row = _clean(raw)
        name = row.get("name", "")
        if not name:
            raise GazetteerError(f"{path}, line {line}: station name is empty")
        crs = _crs(path, line, row.get("crs", ""))
        if crs in seen:
            raise GazetteerError(
                f"{path}, line {line}: CRS {crs} already given on line {seen[crs]}"
            )
        seen[crs] = line
        lat = _coordinate(path, line, "latitude", row.get("lat", ""), _LAT_RANGE)
        lon = _coordinate(path, line, "longitude", row.get("lon", ""), _LON_RANGE)
        country = row.get("country") or None
        alt = tuple(a.strip() for a in (row.get("alt_names") or "").split(";") if a.strip())
        stations.append(
            Station(
                name=name,
                crs=crs,
                lat=lat,
                lon=lon,
                area=area_for(country, lat, lon),
                country=country,
                rank=_rank(crs, index),
                alt_names=alt,
            )
        )
    return stations


_NAPTAN_SUFFIXES = (" rail station", " railway station")


def _read_naptan(path: str, reader: csv.DictReader) -> list[Station]:
    by_crs: dict[str, Station] = {}
    for index, raw in enumerate(reader):
        line = reader.line_num
        row = _clean(raw)
        if row.get("gridtype", "U").upper() not in ("", "U"):
            continue  # Irish grid: not a GB station
        crs = _crs(path, line, row.get("crscode", ""))
        name = row.get("stationname", "")
        for suffix in _NAPTAN_SUFFIXES:
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)].rstrip()
        if not name:
            raise GazetteerError(f"{path}, line {line}: station name is empty")
        easting = _coordinate(path, line, "easting", row.get("easting", ""), (0.0, 700_000.0))
        northing = _coordinate(path, line, "northing", row.get("northing", ""), (0.0, 1_300_000.0))
        if crs in by_crs:  # one row per TIPLOC: keep the first, remember other spellings
            first = by_crs[crs]
            if name != first.name and name not in first.alt_names:
                by_crs[crs] = _replace_alt(first, first.alt_names + (name,))
            continue
        lat, lon = grid_to_wgs84(easting, northing)
        by_crs[crs] = Station(
            name=name,
            crs=crs,
            lat=round(lat, 6),
            lon=round(lon, 6),
            area=area_for(None, lat, lon),
            rank=_rank(crs, index),
        )
    return list(by_crs.values())


def _replace_alt(st: Station, alt: tuple[str, ...]) -> Station:
    return Station(st.name, st.crs, st.lat, st.lon, st.area, st.country, st.rank, alt)
