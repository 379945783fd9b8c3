"""Every read of a transcript, and every page of the case list, leaves an audit event.

The case page, its live fragment and GET /api/cases/{id} are each a `case.viewed`; a user's
repeats of one case within TEXTLINE_READ_AUDIT_MINUTES (5) are one event, found by one indexed
query or the process's memory, never by a write. GET /api/cases is a `cases.listed` event per
page with its filters and count, repeats of the same page folded the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from app.audit.reads import ReadAudit
from app.kit.config import Settings
from app.kit.db import utcnow
from app.main import create_app
from app.models import AuditEvent
from tests.dashboard.signin import sign_in
from tests.helpers import PUBLIC, text_in, token_for


def events(app: Any, action: str) -> list[AuditEvent]:
    with app.state.sessions() as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.seq)).scalars())


def views(app: Any) -> list[tuple[str, int | None, str]]:
    return [(e.actor, e.case_id, e.data["via"]) for e in events(app, "case.viewed")]


def test_the_live_fragment_is_a_view(app, client):
    sign_in(client, app, "alice")
    text_in(client, "someone shouting at kings cross")
    resp = client.get("/cases/1/live")
    assert resp.status_code == 200 and "someone shouting at kings cross" in resp.text
    assert views(app) == [("alice", 1, "live")]


def test_a_form_s_error_page_is_a_view(app, client):
    csrf = sign_in(client, app, "alice")  # from the queue page, which shows no transcript
    text_in(client, "someone shouting at kings cross")
    assert views(app) == []
    resp = client.post("/cases/1/note", data={"body": "", "csrf_token": csrf})
    assert resp.status_code == 422 and "someone shouting at kings cross" in resp.text
    assert views(app) == [("alice", 1, "dashboard")]


def test_one_user_s_repeat_reads_of_a_case_fold_and_no_one_else_s_do(app, client):
    olly = token_for(app, "operator", "olly")
    sign_in(client, app, "alice")
    text_in(client, "someone shouting at kings cross", phone="+447700900301")
    text_in(client, "bag left on platform 2 at york", phone="+447700900302")
    for _ in range(3):
        assert client.get("/cases/1").status_code == 200
        assert client.get("/cases/1/live").status_code == 200
        assert client.get("/api/cases/1").status_code == 200  # alice's session on the API
    assert client.get("/api/cases/1", headers=olly).status_code == 200
    assert client.get("/api/cases/2", headers=olly).status_code == 200
    assert client.get("/api/cases/2", headers=olly).status_code == 200
    assert client.get("/api/cases/99", headers=olly).status_code == 404
    assert views(app) == [("alice", 1, "dashboard"), ("olly", 1, "api"), ("olly", 2, "api")]


def test_a_read_after_the_window_is_recorded_again_across_processes(app, client):
    text_in(client, "someone shouting at kings cross")
    here: ReadAudit = app.state.read_audit
    t0 = utcnow()
    assert here.case_viewed("alice", 1, "api", now=t0) is True
    assert here.case_viewed("alice", 1, "api", now=t0 + timedelta(minutes=4, seconds=59)) is False
    assert here.case_viewed("alice", 1, "api", now=t0 + timedelta(minutes=5)) is True
    # Another process (or this one restarted) knows nothing; the audit table tells it.
    there = ReadAudit(app.state.sessions, app.state.read_sessions, timedelta(minutes=5))
    assert there.case_viewed("alice", 1, "api", now=t0 + timedelta(minutes=6)) is False
    assert there.case_viewed("alice", 1, "api", now=t0 + timedelta(minutes=10)) is True
    assert [e.at for e in events(app, "case.viewed")] == [
        t0, t0 + timedelta(minutes=5), t0 + timedelta(minutes=10)]


def _audit_statements(app: Any) -> list[str]:
    seen: list[str] = []
    engines = {app.state.runtime.engine, app.state.read_sessions.kw["bind"]}
    for engine in engines:
        event.listen(engine, "before_cursor_execute",
                     lambda _c, _cur, stmt, *_a: seen.append(stmt)
                     if "audit_events" in stmt else None)
    return seen


def test_a_folded_read_costs_no_write_and_at_most_one_query(app, client):
    sign_in(client, app, "alice")
    text_in(client, "someone shouting at kings cross")
    assert client.get("/cases/1").status_code == 200
    statements = _audit_statements(app)
    for _ in range(5):
        assert client.get("/cases/1/live").status_code == 200
    assert statements == []  # remembered by this process: nothing asked
    app.state.read_audit = ReadAudit(app.state.sessions, app.state.read_sessions,
                                     timedelta(minutes=5))  # as a fresh process
    for _ in range(5):
        assert client.get("/cases/1/live").status_code == 200
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("SELECT")
    assert len(events(app, "case.viewed")) == 1


@pytest.fixture
def every_read(settings_kwargs: dict[str, object]) -> Iterator[TestClient]:
    app = create_app(Settings(**settings_kwargs, read_audit_minutes=0))  # type: ignore[arg-type]
    with TestClient(app, base_url=PUBLIC) as c:
        yield c


def test_with_folding_off_every_read_is_recorded(every_read):
    app = every_read.app
    headers = token_for(app)
    text_in(every_read, "someone shouting at kings cross")
    for _ in range(3):
        assert every_read.get("/api/cases/1", headers=headers).status_code == 200
        assert every_read.get("/api/cases", headers=headers).status_code == 200
    assert len(events(app, "case.viewed")) == 3
    assert len(events(app, "cases.listed")) == 3


def test_paging_through_the_case_list_leaves_a_trace_of_each_page(app, client):
    headers = token_for(app, "operator", "olly")
    for n in range(7):
        text_in(client, "hi", phone=f"+4477009004{n:02d}")
    cursor, pages = None, 0
    while True:
        url = "/api/cases?status=open&limit=3" + (f"&cursor={cursor}" if cursor else "")
        cursor = client.get(url, headers=headers).json()["next_cursor"]
        pages += 1
        if cursor is None:
            break
    listed = events(app, "cases.listed")
    assert pages == 3
    assert [(e.actor, e.data["count"], e.data["filters"], e.data["limit"]) for e in listed] == [
        ("olly", 3, {"status": "open"}, 3)] * 2 + [("olly", 1, {"status": "open"}, 3)]
    assert listed[0].data["cursor"] is None and listed[1].data["cursor"] is not None
    assert all(e.data["via"] == "api" and e.case_id is None for e in listed)

    # The same page again, or a client following new activity with a moving `since`: folded.
    client.get("/api/cases?status=open&limit=3", headers=headers)
    client.get("/api/cases?status=open&limit=3&since=2020-01-01T00:00:00Z", headers=headers)
    client.get("/api/cases?status=open&limit=3&since=2021-01-01T00:00:00Z", headers=headers)
    assert len(events(app, "cases.listed")) == 3
    # Other filters, another size, or another user: each its own event.
    client.get("/api/cases?status=closed&limit=3", headers=headers)
    client.get("/api/cases?status=open&limit=200", headers=headers)
    client.get("/api/cases?status=open&limit=3", headers=token_for(app, "supervisor", "sam"))
    assert [(e.actor, e.data["count"]) for e in events(app, "cases.listed")][3:] == [
        ("olly", 0), ("olly", 7), ("sam", 3)]
