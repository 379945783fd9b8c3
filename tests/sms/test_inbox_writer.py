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
from app.inbox.writer import InboxUnavailable
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


def test_the_sqlite_writer_says_when_texts_wait_for_the_write_lock(app, backend):
    """What the reader asks between batches (app/inbox/reader.py): whether texts wait for the
    one write connection it holds, and a wait until those are committed."""
    writer = inbox_writer(app.state.runtime.engine)
    if backend != "sqlite":
        assert not writer.waiting()  # PostgreSQL's writer has a connection of its own
        return
    rt = app.state.runtime

    async def while_the_lock_is_held() -> tuple[bool, bool, bool]:
        idle = writer.waiting()
        with rt.work() as session:  # holds SQLite's one write connection, as a reading batch does
            session.execute(select(Inbox.id)).all()
            accepted = asyncio.ensure_future(writer.accept(text_from(1), utcnow()))
            await asyncio.sleep(0.05)  # handed over; the writer's thread waits for the connection
            blocked = writer.waiting() and not accepted.done()
        await asyncio.to_thread(writer.give_way, 10.0)
        settled = not writer.waiting()
        await accepted
        await writer.aclose()
        return idle, blocked, settled

    idle, blocked, settled = asyncio.run(while_the_lock_is_held())
    assert (idle, blocked, settled) == (False, True, True)
    assert [r.body for r in stored(app)] == ["text 1"]
