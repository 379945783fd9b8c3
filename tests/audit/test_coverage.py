"""One working day through HTTP leaves an audit event for every action, and an intact chain."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.audit.retention import run_retention
from app.audit.service import verify
from app.kit.db import utcnow
from app.models import AuditEvent
from app.sms.worker import drain_once
from tests.cases.test_actions_helpers import open_case, update_case
from tests.dashboard.signin import post_login, sign_in
from tests.helpers import text_in, token_for

EXPECTED = {
    "user.created", "token.created", "auth.login", "auth.login_failed", "case.opened",
    "case.viewed", "message.received", "message.sent", "message.queued", "facts.changed",
    "decision.made", "decision.override", "case.claimed", "note.added", "case.closed",
    "export.created", "case.redacted", "retention.run", "cases.listed", "case.phone_revealed",
}


def test_every_kind_of_action_is_audited(app, client):
    op = token_for(app, "operator", "olly")
    sup = token_for(app, "supervisor", "sam")
    assert post_login(client, "nobody", "wrong").status_code == 401
    sign_in(client, app, "alice", "operator")
    case_id = open_case(client, app, "man with a knife at leeds now", "+447700900123")
    text_in(client, "he is about 20", "+447700900123")
    assert client.get(f"/api/cases/{case_id}", headers=op).status_code == 200
    assert client.get("/api/cases", headers=op).status_code == 200
    assert client.post(f"/api/cases/{case_id}/phone", json={"reason": "calling the texter back"},
                       headers=op).status_code == 200
    client.post(f"/api/cases/{case_id}/claim", headers=op)
    client.post(f"/api/cases/{case_id}/notes", json={"body": "rang the station"}, headers=op)
    client.post(f"/api/cases/{case_id}/messages", json={"body": "Officers are coming"}, headers=op)
    drain_once(app.state.runtime, batch=100)  # the worker sends what is queued
    client.post(f"/api/cases/{case_id}/decision",
                json={"decision": "101", "queue": "general", "reason": "he has left the station"}, headers=op)
    client.post(f"/api/cases/{case_id}/close", json={"outcome": "attended"}, headers=op)
    day = utcnow().astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d")
    assert client.get("/api/exports/audit.csv", params={"from": day, "to": day},
                      headers=sup).status_code == 200
    update_case(app, case_id, closed_at=utcnow() - timedelta(days=400))
    run_retention(app.state.sessions, now=utcnow(), retention_days=365)
    with app.state.sessions() as s:
        actions = set(s.execute(select(AuditEvent.action)).scalars())
        assert verify(s).ok
    assert EXPECTED - actions == set()
