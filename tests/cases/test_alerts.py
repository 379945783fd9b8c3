"""The alert timer with an injected clock: an unclaimed P1 and a stale claim each alert the
supervisors once (audit, integration, live event, metric, queue flag), and clear when the wait
ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.cases.alerts import check_alerts, open_alerts
from app.dashboard.queue import queue_rows
from app.kit.db import utcnow
from app.kit.events import Kind
from app.models import CaseAlert, Outbox
from tests.cases.test_actions_helpers import audits, load_case, open_case, update_case
from tests.helpers import token_for

SECRET = "integration-secret-0123456789abcdef"
P1 = "a man with a knife at leeds station now"


@pytest.fixture
def settings_kwargs(settings_kwargs):  # type: ignore[no-untyped-def]
    # A receiver that is never called: the test reads the outbox row the alert queued.
    return {**settings_kwargs, "integration_url": "http://127.0.0.1:9/cad",
            "integration_secret": SECRET}


def _alert_calls(app) -> list[dict]:  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        payloads = s.execute(select(Outbox.payload).where(Outbox.kind == "integration")).scalars()
        return [p for p in payloads if p.get("event") == "case.alerted"]


def test_unclaimed_p1_alerts_once_after_the_limit_and_clears_when_claimed(app, client):
    rt = app.state.runtime
    seen: list = []
    rt.events.add_listener(seen.append)
    case_id = open_case(client, app, P1, "+447700900501")
    case = load_case(app, case_id)
    assert case.priority == "P1" and case.assigned_to_id is None
    decided = case.decision_at

    assert check_alerts(rt, decided + timedelta(seconds=59)) == 0
    assert check_alerts(rt, decided + timedelta(seconds=61)) == 1
    assert check_alerts(rt, decided + timedelta(seconds=300)) == 0  # once per case and reason

    (event,) = audits(app, "case.alerted")
    assert event.case_id == case_id and event.actor == "system"
    assert event.data["reason"] == "unclaimed" and event.data["waited_seconds"] >= 61
    (call,) = _alert_calls(app)
    assert call["case_id"] == case_id and call["alert"]["reason"] == "unclaimed"
    assert "phone" not in str(call)
    assert [e.data for e in seen if e.kind == Kind.CASE_ALERTED] == [{"reason": "unclaimed"}]
    with app.state.sessions() as s:
        assert [r.alerts for r in queue_rows(s) if r.id == case_id] == [("unclaimed",)]
        assert [(c, r) for c, r, *_ in open_alerts(s)] == [(case_id, "unclaimed")]
    metrics = client.get("/metrics").text
    assert 'textline_case_alerts_total{reason="unclaimed"} 1.0' in metrics
    assert 'textline_case_alerts_open{reason="unclaimed"} 1.0' in metrics

    op = token_for(app, "operator", "olly")
    assert client.post(f"/api/cases/{case_id}/claim", headers=op).status_code == 200
    check_alerts(rt, decided + timedelta(seconds=120))
    with app.state.sessions() as s:
        assert open_alerts(s) == []
        assert s.execute(select(CaseAlert.cleared_at)).scalar_one() is not None
    assert 'textline_case_alerts_open{reason="unclaimed"} 0.0' in client.get("/metrics").text


def test_a_claimed_p1_never_alerts_unclaimed_and_a_p2_never_does(app, client):
    rt = app.state.runtime
    op = token_for(app, "operator", "olly")
    p1 = open_case(client, app, P1, "+447700900502")
    p2 = open_case(client, app, "a lad was shouting at me earlier at york", "+447700900503")
    client.post(f"/api/cases/{p1}/claim", headers=op)
    assert load_case(app, p2).priority != "P1"
    check_alerts(rt, utcnow() + timedelta(seconds=90))
    assert [e.data["reason"] for e in audits(app, "case.alerted")] == []


def test_a_claim_with_no_operator_text_goes_stale_and_a_reply_clears_it(app, client):
    rt = app.state.runtime
    op = token_for(app, "operator", "olly")
    case_id = open_case(client, app, "a lad was shouting at me earlier at york", "+447700900504")
    assert client.post(f"/api/cases/{case_id}/claim", headers=op).status_code == 200
    claimed = load_case(app, case_id).assigned_at
    assert claimed is not None

    assert check_alerts(rt, claimed + timedelta(minutes=9, seconds=59)) == 0
    # The claim is taken back in time, so that the reply below comes after the alert.
    update_case(app, case_id, assigned_at=claimed - timedelta(minutes=10, seconds=1))
    assert check_alerts(rt, claimed) == 1
    assert [e.data["reason"] for e in audits(app, "case.alerted")] == ["stale"]

    assert client.post(f"/api/cases/{case_id}/messages", json={"body": "Officers are coming"},
                       headers=op).status_code == 201
    check_alerts(rt, utcnow())
    with app.state.sessions() as s:
        assert open_alerts(s) == []
    # Once per case and reason: a second silence does not alert again.
    assert check_alerts(rt, utcnow() + timedelta(hours=2)) == 0


def test_an_operator_text_within_the_limit_keeps_a_claim_fresh(app, client):
    rt = app.state.runtime
    op = token_for(app, "operator", "olly")
    case_id = open_case(client, app, "a lad was shouting at me earlier at york", "+447700900505")
    client.post(f"/api/cases/{case_id}/claim", headers=op)
    update_case(app, case_id, assigned_at=utcnow() - timedelta(minutes=30))
    client.post(f"/api/cases/{case_id}/messages", json={"body": "Are you safe?"}, headers=op)
    assert check_alerts(rt, utcnow() + timedelta(minutes=9)) == 0
    assert check_alerts(rt, utcnow() + timedelta(minutes=11)) == 1
