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
from app.inbox.reader import process_pending
from app.inbox.writer import InboxUnavailable
from app.inbox.writer_pg import application_name
from app.kit.db import utcnow
from app.models import Inbox, Message
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


def _while_reading_holds_the_lock(rt: Any, texts: list[Inbound]) -> list[bool]:
    """Accept each text while a transaction holds SQLite's write lock, as a reading batch does;
    whether each was answered before the lock was let go."""

    async def scenario() -> list[bool]:
        with rt.work() as session:
            session.execute(select(Inbox.id)).all()  # BEGIN IMMEDIATE: the write lock is held
            answered = []
            for t in texts:
                accepted = asyncio.ensure_future(rt.inbox.accept(t, utcnow()))
                await asyncio.wait([accepted], timeout=5)
                answered.append(accepted.done() and accepted.exception() is None)
        await rt.inbox.aclose()
        return answered

    return asyncio.run(scenario())


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # PostgreSQL: no such lock
def test_reading_cannot_hold_up_the_webhook_and_each_text_is_read_once(app):
    """A text that comes while reading holds the write lock is committed to the landing, its
    own file, at once; the reader moves it into the inbox and reads it, once."""
    rt = app.state.runtime
    assert _while_reading_holds_the_lock(rt, [text_from(1)]) == [True]
    assert stored(app) == [] and rt.inbox.landing.depth() == 1  # on disk, in the landing
    # The lock is free again, but a text landed before it: this one lands too, behind it, so
    # that a texter's texts are read in the order they came.
    asyncio.run(accept_all(rt.inbox, [text_from(2)]))
    assert stored(app) == [] and rt.inbox.landing.depth() == 2
    assert process_pending(rt) == 2
    assert rt.inbox.landing.depth() == 0
    with app.state.sessions() as s:
        bodies = s.execute(select(Message.body).where(Message.direction == "inbound")
                           .order_by(Message.id)).scalars().all()
    assert bodies == ["text 1", "text 2"]
    # The landing empty, texts go straight to the inbox again.
    asyncio.run(accept_all(rt.inbox, [text_from(3)]))
    assert [r.body for r in stored(app)] == ["text 3"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_crash_after_reading_before_the_landing_forgets_reads_nothing_twice(app, monkeypatch):
    """The reader removes landed texts only once its batch has committed; dying in between
    leaves them landed, and the next batch finds them already stored and does not read them
    again. Nothing acknowledged is lost at any point: landed, in the inbox, or read."""
    rt = app.state.runtime
    assert _while_reading_holds_the_lock(rt, [text_from(1), text_from(2)]) == [True, True]
    landing = type(rt.inbox.landing)
    remove = landing.remove
    monkeypatch.setattr(landing, "remove", lambda self, seqs: None)  # the process dies here
    assert process_pending(rt) == 2
    assert rt.inbox.landing.depth() == 2  # still landed, already read
    monkeypatch.setattr(landing, "remove", remove)  # the next start
    assert process_pending(rt) == 0
    assert rt.inbox.landing.depth() == 0 and stored(app) == []
    with app.state.sessions() as s:
        sids = s.execute(select(Message.provider_sid).where(Message.direction == "inbound")
                         ).scalars().all()
    assert sorted(sids) == [text_from(1).sid, text_from(2).sid]
