"""The inbox and its processor: group commits, failures kept, texts read once and in order."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.inbox.inbound import Inbound
from app.inbox.reader import inbox_depth, process_next, process_pending
from app.inbox.writer import InboxUnavailable, InboxWriter
from app.kit.config import Settings
from app.kit.db import make_engine, utcnow
from app.main import create_app
from app.models import AuditEvent, Case, Inbox, Message
from tests.helpers import PUBLIC, SMS_PATH, signed_headers, sms_form, text_in


def count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


# SQLite's own commits: on PostgreSQL a text the database cannot take is spooled and answered
# 200 instead (tests/spool).
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_writer_that_cannot_commit_refuses_and_the_webhook_answers_503(app, client, tmp_path):
    # A database without the inbox table: every commit fails, as if the database were away.
    broken = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    rt = app.state.runtime
    working, rt.inbox = rt.inbox, InboxWriter(broken)
    try:
        params = sms_form("is anyone there")
        resp = client.post(SMS_PATH, data=params, headers=signed_headers(params))
        assert resp.status_code == 503
        assert resp.headers["retry-after"] == "5"
        with_error = asyncio.run(_accept_error(rt.inbox))
        assert isinstance(with_error, InboxUnavailable)
    finally:
        rt.inbox.stop()
        rt.inbox = working
        broken.dispose()
    assert count(app, Inbox) == 0
    # The same text, retried by Twilio once the database is back, is stored and read.
    assert client.post(SMS_PATH, data=params, headers=signed_headers(params)).status_code == 200
    assert process_pending(rt) == 1


async def _accept_error(writer: InboxWriter) -> Exception | None:
    try:
        await writer.accept(Inbound("SM" + "9" * 32, "+447700900123", "61016", "x"), utcnow())
    except Exception as exc:
        return exc
    return None


def test_a_text_the_conversation_fails_on_reaches_an_operator(app, client, monkeypatch):
    rt = app.state.runtime

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug in the conversation")

    monkeypatch.setattr(rt.intake, "on_inbound", broken)
    text_in(client, "man with a knife at leeds station", read=False)
    assert process_pending(rt) == 1
    assert count(app, Inbox) == 0
    with app.state.sessions() as s:
        message = s.execute(select(Message).where(Message.direction == "inbound")).scalar_one()
        case = s.execute(select(Case)).scalar_one()
        actions = s.execute(select(AuditEvent.action)).scalars().all()
    assert message.body == "man with a knife at leeds station"
    assert case.status == "open" and case.reference
    assert "intake.failed" in actions
    assert count(app, Message) == 1  # no bot reply: the conversation never ran


def test_a_database_failure_keeps_the_text_and_retries_later(app, client, monkeypatch):
    rt = app.state.runtime
    real = rt.intake.on_inbound
    calls = []

    def away_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return real(*args, **kwargs)

    monkeypatch.setattr(rt.intake, "on_inbound", away_once)
    text_in(client, "someone acting odd at leeds station", read=False)
    assert process_pending(rt) == 0
    with app.state.sessions() as s:
        row = s.execute(select(Inbox)).scalar_one()
    assert row.attempts == 1 and "server closed" in (row.last_error or "")
    assert row.next_attempt_at > utcnow()
    assert count(app, Message) == 0  # nothing half-stored
    later = row.next_attempt_at + timedelta(seconds=1)
    done = process_next(rt, now=later)
    assert done is not None and done.case_id is not None and not done.skipped
    assert count(app, Inbox) == 0
    with app.state.sessions() as s:
        assert s.execute(select(func.count()).where(Message.author == "bot")).scalar_one() >= 1


def test_inbox_depth_counts_unread_texts_and_their_age(app, client):
    text_in(client, "one", read=False)
    text_in(client, "two", phone="+447700900124", read=False)
    with app.state.sessions() as s:
        n, age = inbox_depth(s, utcnow() + timedelta(seconds=30))
    assert n == 2 and 29 <= age <= 60
    process_pending(app.state.runtime)
    with app.state.sessions() as s:
        assert inbox_depth(s, utcnow()) == (0, 0.0)


def test_the_server_reads_each_text_in_the_background(settings_kwargs):
    app = create_app(Settings(**{**settings_kwargs, "run_worker": True}))
    with TestClient(app, base_url=PUBLIC) as client:
        resp = text_in(client, "a lad is being hassled at leeds station", read=False)
        assert resp.status_code == 200
        deadline = time.monotonic() + 10
        while count(app, Inbox) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert count(app, Inbox) == 0
    with app.state.sessions() as s:
        assert s.execute(select(func.count()).where(Message.author == "bot")).scalar_one() >= 1
