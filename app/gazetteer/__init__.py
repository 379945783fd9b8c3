"""Stations and areas: the built-in station list, loading other lists, normalisation and lookup."""

from app.gazetteer.areas import area_for
from app.gazetteer.loader import GazetteerError, load_gazetteer
from app.gazetteer.model import MAX_CANDIDATES, Gazetteer, Station
from app.gazetteer.normalise import normalise

__all__ = [
    "MAX_CANDIDATES",
    "Gazetteer",
    "GazetteerError",
    "Station",
    "area_for",
    "load_gazetteer",
    "normalise",
]
