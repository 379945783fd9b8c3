"""The inbox writers: a burst shares commits, order and values are kept, failures are refused.

SQLite has the thread writer (app/inbox/writer.py), PostgreSQL the event-loop writer
(app/inbox/writer_pg.py); app.startup.bootstrap.inbox_writer picks one, and every test here runs on both.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from app.inbox.inbound import Inbound
from app.inbox.writer import (
    BURST_RATE,
    MIN_ELAPSED,
    RATE_WINDOW,
    YIELD_FACTOR,
    ArrivalRate,
    InboxUnavailable,
)
from app.inbox.writer_pg import application_name
from app.kit.db import utcnow
from app.models import Inbox
from app.startup.bootstrap import inbox_writer


def text_from(i: int, phone: str = "+447700900123", **kw: Any) -> Inbound:
    return Inbound(f"SM{i:032d}", phone, "61016", kw.pop("body", f"text {i}"), **kw)


async def accept_all(writer: Any, texts: list[Inbound], at: Any = None) -> list[Any]:
    """Hand every text over at once; what each accept() returned or raised. Then close."""
    at = at or utcnow()
    try:
        return await asyncio.gather(*(writer.accept(t, at) for t in texts),
                                    return_exceptions=True)
    finally:
        await writer.aclose()


def stored(app) -> list[Inbox]:  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        return list(s.execute(select(Inbox).order_by(Inbox.id)).scalars())


def test_a_burst_shares_commits_and_keeps_arrival_order(app):
    writer = inbox_writer(app.state.runtime.engine)
    results = asyncio.run(accept_all(writer, [text_from(i) for i in range(200)]))
    assert results == [None] * 200
    assert writer.committed == 200
    assert 1 <= writer.batches < 200  # the burst shared commits
    assert [r.body for r in stored(app)] == [f"text {i}" for i in range(200)]


def test_a_retried_text_is_stored_once(app):
    writer = inbox_writer(app.state.runtime.engine)
    first = [text_from(1), text_from(1), text_from(2)]  # a retry within one batch, too
    assert asyncio.run(accept_all(writer, first)) == [None] * 3
    again = inbox_writer(app.state.runtime.engine)
    assert asyncio.run(accept_all(again, [text_from(1, body="changed")])) == [None]
    assert [(r.provider_sid, r.body) for r in stored(app)] == [
        (text_from(1).sid, "text 1"), (text_from(2).sid, "text 2")]


def test_values_read_back_as_written(app):
    at = utcnow() - timedelta(seconds=3)
    media = ["https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"]
    texts = [text_from(1, media=media, body="it's <b>\u00e9\u00e8 \U0001F600"),
             text_from(2, phone="61016")]
    asyncio.run(accept_all(inbox_writer(app.state.runtime.engine), texts, at))
    rows = stored(app)
    assert [(r.phone, r.to_number, r.body, r.media) for r in rows] == [
        ("+447700900123", "61016", "it's <b>\u00e9\u00e8 \U0001F600", media),
        ("61016", "61016", "text 2", None)]
    assert all(r.received_at == at == r.next_attempt_at and r.attempts == 0 for r in rows)


def test_close_commits_what_was_handed_over(app):
    writer = inbox_writer(app.state.runtime.engine)

    async def hand_over_then_close() -> list[Any]:
        pending = [asyncio.ensure_future(writer.accept(text_from(i), utcnow())) for i in range(20)]
        await asyncio.sleep(0)  # handed over, not yet answered
        await writer.aclose()
        return await asyncio.gather(*pending)

    assert asyncio.run(hand_over_then_close()) == [None] * 20
    assert len(stored(app)) == 20


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite: test_processor.py
def test_postgres_writer_refuses_when_its_connection_dies_then_reconnects(app):
    writer = inbox_writer(app.state.runtime.engine)
    engine = app.state.runtime.engine

    async def scenario() -> list[Any]:
        await writer.accept(text_from(1), utcnow())  # connected
        with engine.begin() as conn:  # the database drops it, as in a restart
            killed = conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name"), {"name": application_name()}).scalar_one()
        assert killed == 1
        outcome: list[Any] = []
        for i in (2, 3):
            try:
                await writer.accept(text_from(i), utcnow())
                outcome.append(None)
            except InboxUnavailable as exc:
                outcome.append(exc)
        await writer.aclose()
        return outcome

    first, second = asyncio.run(scenario())
    assert isinstance(first, InboxUnavailable)  # that webhook answers 503; Twilio retries
    assert second is None  # the next one has a new connection
    assert [r.body for r in stored(app)] == ["text 1", "text 3"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Stop:
    """A threading.Event that records how long it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def wait(self, timeout: float) -> bool:
        self.waits.append(round(timeout, 6))
        return False


def arrivals(rate: ArrivalRate, clock: FakeClock, per_second: float, seconds: float) -> None:
    for _ in range(int(per_second * seconds)):
        clock.now += 1 / per_second
        rate.arrived()


def test_a_burst_is_texts_arriving_faster_than_burst_rate():
    clock = FakeClock()
    rate = ArrivalRate(None, clock)
    arrivals(rate, clock, BURST_RATE / 2, 2.0)
    assert rate.per_second == pytest.approx(BURST_RATE / 2, rel=0.15)  # a window in progress
    assert not rate.in_burst
    arrivals(rate, clock, BURST_RATE * 10, 1.0)
    assert rate.in_burst
    clock.now += 2 * RATE_WINDOW + 0.01  # nothing more arrives: the burst is over
    assert rate.per_second == 0.0 and not rate.in_burst
    # A burst after a quiet spell is seen within MIN_ELAPSED, not at the end of a window.
    arrivals(rate, clock, BURST_RATE * 10, MIN_ELAPSED + 0.001)
    assert rate.in_burst


def test_in_a_burst_reading_and_replying_share_one_quiet_time():
    clock = FakeClock()
    rate = ArrivalRate(None, clock)
    stop = Stop()
    arrivals(rate, clock, BURST_RATE * 10, 1.0)
    began = clock.now
    clock.now += 0.010
    # Two pieces of work ended together (the processor's and a sender's): the second waits for
    # the first's quiet time as well as its own, so together they keep a tenth of the time.
    rate.give_way(began, stop)
    rate.give_way(began, stop)
    assert stop.waits == [0.010 * YIELD_FACTOR, 2 * 0.010 * YIELD_FACTOR]


def test_below_a_burst_nothing_waits():
    clock = FakeClock()
    rate = ArrivalRate(None, clock)
    stop = Stop()
    arrivals(rate, clock, BURST_RATE / 4, 1.0)
    began = clock.now
    clock.now += 0.010
    rate.give_way(began, stop)
    assert stop.waits == []


def test_arrivals_at_another_instance_count_as_a_burst_here():
    # Keep-alive connections stay with the worker that accepted them: one worker may receive
    # every text of a burst. The other learns of it from the shared inbox's newest id.
    clock = FakeClock()
    rate = ArrivalRate(None, clock)
    assert rate.shared_due()
    rate.saw_newest(1000)
    clock.now += RATE_WINDOW
    assert rate.shared_due()
    rate.saw_newest(1000 + int(BURST_RATE * 2 * RATE_WINDOW))
    assert rate.per_second == pytest.approx(BURST_RATE * 2)
    assert rate.in_burst and not rate.shared_due()
    clock.now += 2 * RATE_WINDOW + 0.01  # no newer reading: the figure is stale, not a burst
    assert not rate.in_burst
    rate.saw_newest(None)  # the inbox is empty
    assert rate.per_second == 0.0


def test_the_processor_counts_every_instances_arrivals(app, client):
    from app.cases.processor import InboxProcessor

    rt = app.state.runtime
    clock = FakeClock()
    rt.inbox.clock = clock
    processor = InboxProcessor(rt)
    elsewhere = inbox_writer(rt.engine)  # another instance's writer, into the same inbox
    asyncio.run(accept_all(elsewhere, [text_from(0)]))
    processor._count_arrivals()
    clock.now += RATE_WINDOW
    asyncio.run(accept_all(inbox_writer(rt.engine), [text_from(i) for i in range(1, 101)]))
    processor._count_arrivals()
    # 100 texts in a quarter second at another instance: a burst here too, on PostgreSQL.
    # (SQLite has one instance, whose own arrivals are all there is to count.)
    assert rt.inbox.in_burst == (rt.engine.dialect.name == "postgresql")
