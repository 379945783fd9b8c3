"""The matching rules on their own: places, words, and how sure each verdict is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.incidents.rules import (
    STRONG,
    WEAK_RISK,
    WEAK_WORDS,
    Place,
    Report,
    best,
    judge,
    place_of,
    words_of,
)

T0 = datetime(2026, 12, 7, 14, 32, tzinfo=UTC)
WINDOW = timedelta(minutes=30)
TRAIN = Place("train:14:32 york to leeds", "C")


def report(case_id: int, *, place: Place | None = TRAIN, risks: tuple[str, ...] = ("violence",),
           words: tuple[str, ...] = (), minutes: float = 0, incident: int | None = None) -> Report:
    return Report(case_id, f"TL-261207-{case_id:04d}", place, frozenset(risks), frozenset(words),
                  T0 + timedelta(minutes=minutes), incident)


@pytest.mark.parametrize(("location", "key"), [
    ({"text": "x", "train": "14:32 York to Leeds", "coach": "c"}, "train:14:32 york to leeds"),
    ({"text": "x", "station": {"name": "Clapham Junction", "crs": "CLJ"}}, "station:CLJ"),
    # A train with both a station: the service is the place.
    ({"text": "x", "train": "09:05 Derby to Nottingham",
      "station": {"name": "Derby", "crs": "DBY"}}, "train:09:05 derby to nottingham"),
    # "on the train" names no service; no station either.
    ({"text": "on the train", "train": "on the train"}, None),
    ({"text": "14:32 York", "train": "14:32 York"}, None),
])
def test_the_place_is_the_service_once_known_else_the_station(location, key) -> None:  # type: ignore[no-untyped-def]
    place = place_of({"location": location})
    assert (place.key if place else None) == key


def test_same_place_same_risk_within_ten_minutes_is_strong() -> None:
    m = judge(report(1), report(2, minutes=9.5), WINDOW)
    assert m is not None and m.strong and m.rule == STRONG
    assert m.evidence == {"place": TRAIN.key, "minutes_apart": 9.5, "coaches": ["C"],
                          "indicators": ["violence"]}


def test_the_same_risk_later_in_the_window_is_only_proposed() -> None:
    m = judge(report(1), report(2, minutes=11), WINDOW)
    assert m is not None and not m.strong and m.rule == WEAK_RISK


def test_two_coaches_named_and_different_are_asked_not_linked() -> None:
    m = judge(report(1), report(2, place=Place(TRAIN.key, "A")), WINDOW)
    assert m is not None and not m.strong and m.evidence["coaches"] == ["A", "C"]


def test_outside_the_window_or_elsewhere_is_no_match() -> None:
    assert judge(report(1), report(2, minutes=31), WINDOW) is None
    assert judge(report(1), report(2, place=Place("station:CLJ")), WINDOW) is None
    assert judge(report(1, place=None), report(2), WINDOW) is None
    assert judge(report(1), report(1), WINDOW) is None


def test_different_risks_are_apart_unless_the_descriptions_meet() -> None:
    theft = report(2, risks=("theft",), words=("nicked", "bag"), minutes=10)
    assert judge(report(1, words=("lads", "punching")), theft, WINDOW) is None
    hoodie = report(3, risks=(), words=("hoodie", "shouting", "ginger"), minutes=3)
    m = judge(report(1, words=("ginger", "hoodie", "punching")), hoodie, WINDOW)
    assert m is not None and not m.strong and m.rule == WEAK_WORDS
    assert m.evidence["words"] == ["ginger", "hoodie"]


def test_words_leave_out_the_place_and_filler() -> None:
    words = words_of("Lads punching each other on the 14:32 york to leeds coach C, please help",
                     leave_out="14:32 york to leeds coach C")
    assert words == {"lads", "punching"}


def test_the_strong_match_in_an_incident_is_chosen_first() -> None:
    lone, linked = report(2, minutes=1), report(3, minutes=5, incident=7)
    chosen = best([judge(report(1), lone, WINDOW), judge(report(1), linked, WINDOW)])  # type: ignore[list-item]
    assert chosen is not None and chosen.other.case_id == 3
    assert best([judge(report(1), report(4, minutes=20), WINDOW)]) is None  # type: ignore[list-item]


def test_a_report_split_off_by_a_person_is_only_ever_proposed() -> None:
    held = Report(2, "TL-261207-0002", TRAIN, frozenset({"violence"}), frozenset(), T0, None,
                  held=True)
    for a, b in ((report(1), held), (held, report(1))):
        m = judge(a, b, WINDOW)
        assert m is not None and not m.strong and m.rule == WEAK_RISK
