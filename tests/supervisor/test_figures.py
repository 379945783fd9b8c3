"""The figures: counts per local day and queue, reply-time percentiles, cases waiting now."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from app.kit.db import unit_of_work
from app.models import Case, Message, Reporter
from app.supervisor.figures import Spread, collect, day_bounds, percentile
from app.supervisor.svg import Series, axis_top, bar_chart, line_chart, nice_ceiling

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


def test_percentile_interpolates_like_numpy():
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(1, 11)), 90) == pytest.approx(9.1)
    assert percentile([10, 1, 5], 50) == 5
    assert Spread.of([60.0, 120.0, 600.0]) == Spread(120.0, 504.0, 3)


def test_day_bounds_follow_the_clock_change():
    start, end = day_bounds(date(2026, 3, 29), date(2026, 3, 29), LONDON)  # spring forward
    assert start == datetime(2026, 3, 29, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=23)


class World:
    def __init__(self, app):  # type: ignore[no-untyped-def]
        self.app, self.n = app, 0

    def case(self, created: datetime, *, queue: str | None = "general", decision: str | None = "101",
             bot: float | None = 5, human: float | None = None, texts: int = 1,
             status: str = "open", answered: bool = False) -> int:
        self.n += 1
        with unit_of_work(self.app.state.sessions) as s:
            reporter = Reporter(phone=f"+4477009{self.n:05d}")
            s.add(reporter)
            s.flush()
            case = Case(reporter_id=reporter.id, status=status, created_at=created,
                        updated_at=created, queue=queue, decision=decision,
                        open_reporter_id=reporter.id if status == "open" else None,
                        first_bot_reply_at=created + timedelta(seconds=bot) if bot is not None else None,
                        first_response_at=created + timedelta(seconds=human) if human is not None else None,
                        conversation_state={}, facts={})
            s.add(case)
            s.flush()
            s.execute(insert(Message), [
                {"case_id": case.id, "direction": "inbound", "author": "reporter", "body": "x",
                 "status": "received", "created_at": created + timedelta(seconds=i)}
                for i in range(texts)])
            if answered:
                s.add(Message(case_id=case.id, direction="outbound", author="operator:olly",
                              body="on our way", status="sent",
                              created_at=created + timedelta(seconds=texts + 1)))
            return case.id


@pytest.fixture
def world(app):  # type: ignore[no-untyped-def]
    return World(app)


def figures(app, first: date, last: date):  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        return collect(s, first, last, LONDON, NOW)


def test_counts_per_local_day_and_queue(app, world):
    day = datetime(2026, 7, 10, 12, tzinfo=UTC)
    world.case(day, texts=3, human=60, answered=True)
    world.case(day + timedelta(hours=1), queue="emergency", decision="999", texts=2, human=30,
               answered=True)
    # 23:30 UTC on 10 July is 00:30 on 11 July in London (summer time)
    world.case(datetime(2026, 7, 10, 23, 30, tzinfo=UTC), texts=1, human=None, bot=None)
    world.case(datetime(2026, 7, 1, tzinfo=UTC), texts=4)  # outside the range
    figs = figures(app, date(2026, 7, 10), date(2026, 7, 11))
    assert [(r.day.day, r.texts, r.cases, r.flags_999) for r in figs.by_day] == [
        (10, 5, 2, 1), (11, 1, 1, 0)]
    pairs = {(r.day.day, r.queue): (r.texts, r.cases) for r in figs.by_day_queue}
    assert pairs == {(10, "emergency"): (2, 1), (10, "general"): (3, 1), (11, "general"): (1, 1)}
    assert figs.total.texts == 6 and figs.total.cases == 3 and figs.total.flags_999 == 1
    assert figs.total.human == Spread(45.0, 57.0, 2)
    assert figs.total.bot == Spread(5.0, 5.0, 2)
    assert {r.queue: r.cases for r in figs.by_queue} == {"emergency": 1, "general": 2}


def test_waiting_now_counts_unanswered_open_cases_per_queue(app, world):
    world.case(NOW - timedelta(minutes=30), queue=None, decision=None)
    world.case(NOW - timedelta(minutes=5), queue="general")
    world.case(NOW - timedelta(minutes=50), queue="general")
    world.case(NOW - timedelta(minutes=70), queue="general", answered=True)  # answered
    world.case(NOW - timedelta(minutes=90), queue="general", status="closed")
    figs = figures(app, NOW.date(), NOW.date())
    waiting = {w.queue: (w.cases, round(w.longest_seconds / 60)) for w in figs.waiting}
    assert waiting == {"-": (1, 30), "general": (2, 50)}


def test_an_empty_range_has_every_day_and_no_rows(app):
    figs = figures(app, date(2026, 1, 1), date(2026, 1, 7))
    assert len(figs.by_day) == 7 and all(r.cases == 0 for r in figs.by_day)
    assert figs.by_day_queue == [] and figs.total.human.p50 is None


def test_charts_are_svg_with_escaped_labels():
    svg = bar_chart("Texts <per> day", ["1 Jan", "<b>"], [Series("texts", [3, 7], "#000")])
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "Texts &lt;per&gt; day" in svg
    assert svg.count('data-series="texts"') == 2
    line = line_chart("t", ["a", "b", "c", "d"], [Series("m", [1, None, 2, 3], "#000")])
    assert line.count("<circle") == 3 and line.count("<polyline") == 1  # a gap on no value
    assert nice_ceiling(0) == 1 and nice_ceiling(7) == 10 and nice_ceiling(23) == 25
    assert nice_ceiling(0.3) == pytest.approx(0.5)
    assert axis_top(2, whole=True) == 4 and axis_top(9, whole=True) == 12 and axis_top(1) == 1
