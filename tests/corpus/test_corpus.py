"""The conversation corpora, played through the webhook and the JSON API as adaptive texters.

- The tuned part (dev_*.yaml): the extractors were tuned against it.
- The set-aside part (setaside_*.yaml): written apart from the extractors, from published
  guidance, and not read while tuning; the measure of how triage generalises.
- The shared corpus (../shared/corpus), where it sits beside the repository.

A missed 999 fails any of them: it is the failure that matters most.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from tests.conftest import unavailable
from tests.corpus.runner import (
    SET_ASIDE,
    SHARED,
    STATIONS,
    TUNED,
    Tally,
    load_corpus,
    play_in_processes,
    report,
    summary,
    tally,
)

# The tuned part's figures at the last tuning (docs/triage.md, "The tuned parts now").
MISSED_TUNED = 46
OVER_TUNED = 289
PCT_TUNED = 94.9


def _play(paths: list[Path]) -> tuple[Tally, str]:
    specs = [spec for path in paths for spec in load_corpus(path)]
    outcomes = play_in_processes(specs, workers=min(os.cpu_count() or 1, 4))
    out = io.StringIO()
    report(outcomes, out, verbose=bool(os.environ.get("CORPUS_VERBOSE")))
    t = tally(specs, outcomes)
    summary(", ".join(p.name for p in paths), t, out)
    print("\n" + out.getvalue())
    return t, out.getvalue()


def test_the_project_corpus_is_big_enough_and_well_formed() -> None:
    specs = [spec for path in [*TUNED, *SET_ASIDE] for spec in load_corpus(path)]
    assert len(specs) >= 150
    assert len({s["id"] for s in specs}) == len(specs)
    assert len({s["from"] for s in specs}) == len(specs)
    # A quarter or more set aside (each earlier set-aside became tuning data once scored: docs/
    # triage.md), and both parts with emergencies and non-emergencies alike.
    aside = [spec for path in SET_ASIDE for spec in load_corpus(path)]
    assert len(aside) * 4 >= len(specs)
    for part in (aside, [s for p in TUNED for s in load_corpus(p)]):
        decisions = [s["expect"].get("decision") for s in part]
        assert decisions.count("999") >= 20 and decisions.count("101") >= 20


def test_tuned_corpus() -> None:
    t, text = _play(TUNED)
    # Forty-six of 3,856 emergencies are still missed, from the parts read for tuning (I to M):
    # docs/triage.md says what they are. None may be added.
    assert len(t.missed_999) <= MISSED_TUNED, text
    # Look-alikes still raised (docs/triage.md): most are a first text that reads as an
    # emergency and a later one that explains it ("shes giggling now, she just called him
    # grandad"); a 999 once made is moved down only by a person (API.md).
    assert len(t.over_999) <= OVER_TUNED, text
    assert t.pct >= PCT_TUNED, text


def test_set_aside_corpus() -> None:
    """Floors at what the set-aside scored when it was first run (docs/triage.md, "Figures"):
    it guards against losing ground. It is below the aim (95% and no missed 999); the misses
    are not tuned away here, or the part would stop measuring anything."""
    t, text = _play(SET_ASIDE)
    assert len(t.missed_999) <= 98, text
    assert len(t.over_999) <= 184, text
    assert t.pct >= 90.7, text


def test_shared_corpus() -> None:
    if not SHARED.exists():
        unavailable("the shared conversation corpus", f"missing at {SHARED}")
    t, text = _play([SHARED])
    assert t.pct == 100.0, text


@pytest.mark.parametrize("path", [*TUNED, *SET_ASIDE], ids=lambda p: p.name)
def test_every_station_expected_is_in_the_station_list(path: Path) -> None:
    crs = {line.split(",")[1] for line in STATIONS.read_text(encoding="utf-8").splitlines()[1:]}
    for spec in load_corpus(path):
        want = spec["expect"].get("station")
        assert want is None or want in crs, spec["id"]
