"""The Welsh development corpus (cy_dev.yaml), played like the English one, with its own floors.

Kept apart from the English corpus test so that the English scores are measured as before."""

from __future__ import annotations

from tests.corpus.runner import HERE
from tests.corpus.test_corpus import _play

WELSH = HERE / "cy_dev.yaml"


def test_welsh_corpus() -> None:
    t, text = _play([WELSH])
    assert t.missed_999 == [], text
    assert len(t.over_999) <= 1, text
    assert t.pct >= 95.0, text
