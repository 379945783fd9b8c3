"""The hand-picked ordinary-word lists (ordinary_words.txt) that keep everyday words from
becoming stations."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.gazetteer.normalise import normalise

_WORDS_FILE = Path(__file__).with_name("ordinary_words.txt")


@dataclass(frozen=True)
class OrdinaryWords:
    common: frozenset[str]  # single normalised tokens
    needs_cue: frozenset[str]  # normalised phrases
    needs_station: frozenset[str]  # normalised phrases
    not_stations: frozenset[str]  # normalised phrases that name no station


@lru_cache(maxsize=1)
def ordinary_words() -> OrdinaryWords:
    common: set[str] = set()
    needs_cue: set[str] = set()
    needs_station: set[str] = set()
    not_stations: set[str] = set()
    section: set[str] | None = None
    for raw in _WORDS_FILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == "[common]":
            section = common
        elif line == "[needs_cue]":
            section = needs_cue
        elif line == "[needs_station]":
            section = needs_station
        elif line == "[not_stations]":
            section = not_stations
        elif section is common:
            common.update(normalise(line).split())
        elif section is not None:
            # Phrases are separated by "|", single words by spaces.
            parts = line.split("|") if "|" in line else line.split()
            section.update(p for p in (normalise(x) for x in parts) if p)
    return OrdinaryWords(
        frozenset(common), frozenset(needs_cue), frozenset(needs_station), frozenset(not_stations)
    )
