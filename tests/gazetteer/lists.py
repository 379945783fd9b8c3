"""The station lists the tests run against: the built-in list, and the full GB list (a copy
of shared/data/gb_rail_stations.csv kept in tests/data, so a fresh clone has it)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pytest

from app.gazetteer import Gazetteer, load_gazetteer

REPO = Path(__file__).resolve().parents[2]
FULL_LIST = REPO / "tests" / "data" / "gb_rail_stations.csv"


def builtin() -> Gazetteer:
    return load_gazetteer(None)


@lru_cache(maxsize=1)
def _full() -> Gazetteer:
    return load_gazetteer(str(FULL_LIST))


def full() -> Gazetteer:
    """The full list; skipped when the file is absent, except in CI where it must be there."""
    if not FULL_LIST.is_file():
        message = f"full station list not found at {FULL_LIST}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; CI=true requires it")
        pytest.skip(message)
    return _full()


def both(name: str) -> Gazetteer:
    return builtin() if name == "builtin" else full()


LISTS = ["builtin", "full"]
