"""The texter's number reaches nobody in full without an audited reason.

Every Case JSON (list, detail, an action's answer) and every dashboard page carries it masked,
whatever the reader's role; POST /api/cases/{id}/phone and the case page's "Reveal number" give
it for a reason of a few words, each time as a `case.phone_revealed` event. Looking cases up by
a full number still works, and echoes no number.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.retention import run_retention
from app.inbox.reader import process_pending
from app.kit.config import Settings
from app.kit.db import utcnow
from app.main import create_app
from app.models import AuditEvent, Outbox
from tests.cases.test_actions_helpers import update_case
from tests.conftest import TEST_AUTH_TOKEN
from tests.corpus.runner import Driver, play
from tests.dashboard.signin import page_csrf, sign_in
from tests.helpers import PUBLIC, text_in, token_for

PHONE, OTHER = "+447700900123", "+447700900456"
MASKED = "+44770090****"
REASON = "texter stopped replying, calling back"


def no_full_number(text: str) -> bool:
    return "900123" not in text and "900456" not in text


def events(app: Any, action: str) -> list[AuditEvent]:
    with app.state.sessions() as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.seq)).scalars())


def two_cases(client: Any) -> None:
    text_in(client, "man shouting at people at leeds station", phone=PHONE)
    text_in(client, "bag left on platform 2 at york", phone=OTHER)


@pytest.mark.parametrize("role", ["operator", "supervisor", "admin"])
def test_every_case_json_masks_the_number_for_every_role(app, client, role):
    headers = token_for(app, role)
    two_cases(client)
    listed = client.get("/api/cases", headers=headers)
    detail = client.get("/api/cases/1", headers=headers)
    claimed = client.post("/api/cases/2/claim", headers=headers)
    for resp in (listed, detail, claimed):
        assert resp.status_code == 200, resp.text
        assert no_full_number(resp.text)
    assert [c["reporter"]["phone"] for c in listed.json()["items"]] == [MASKED, MASKED]
    assert detail.json()["reporter"] == {"phone": MASKED, "phone_masked": True,
                                         "opted_out": False, "discreet": False}
    assert claimed.json()["reporter"]["phone_masked"] is True


def test_a_search_by_full_number_finds_its_case_and_echoes_no_number(app, client):
    headers = token_for(app)
    two_cases(client)
    for query, ids in (("phone=%2B447700900123", [1]), ("phone=07700900456", [2]),
                       ("phone=%2B447700900999", [])):
        resp = client.get(f"/api/cases?{query}", headers=headers)
        assert resp.status_code == 200
        assert [c["id"] for c in resp.json()["items"]] == ids
        assert no_full_number(resp.text)
    # The search is in the log, its number masked: the log outlives retention.
    searched = [e.data["filters"].get("phone") for e in events(app, "cases.listed")]
    assert searched == [MASKED, MASKED, MASKED]
    assert all(no_full_number(str(e.data)) for e in events(app, "cases.listed"))


def test_the_api_gives_the_number_for_a_reason_and_audits_each_time(app, client):
    headers = token_for(app, "operator", "olly")
    two_cases(client)
    url = "/api/cases/1/phone"
    for body in (None, {}, {"reason": ""}, {"reason": "x"}, {"reason": "calling them"},
                 {"reason": "why not   "}, {"reason": "a\x00b c d e f"}, {"reason": "y " * 300},
                 {"reason": REASON, "extra": 1}):
        resp = client.post(url, json=body, headers=headers)
        assert resp.status_code == 422, (body, resp.text)
        assert isinstance(resp.json()["detail"], str) and no_full_number(resp.text)
    assert events(app, "case.phone_revealed") == []

    assert client.post(url, json={"reason": REASON}).status_code == 401
    assert client.get(url, headers=headers).status_code == 405
    assert client.post("/api/cases/99/phone", json={"reason": REASON},
                       headers=headers).status_code == 404
    assert events(app, "case.phone_revealed") == []

    first = client.post(url, json={"reason": REASON}, headers=headers)
    again = client.post(url, json={"reason": "second call, line was busy"}, headers=headers)
    assert first.status_code == 200 and again.status_code == 200
    assert first.json() == {"case_id": 1, "phone": PHONE}
    assert first.headers["cache-control"] == "no-store"
    revealed = events(app, "case.phone_revealed")
    assert [(e.actor, e.case_id, e.data) for e in revealed] == [
        ("olly", 1, {"reason": REASON, "via": "api"}),
        ("olly", 1, {"reason": "second call, line was busy", "via": "api"}),
    ]
    # Revealing one number shows no other.
    assert "900456" not in first.text


def test_the_api_reveal_by_session_cookie_needs_the_csrf_header(app, client):
    csrf = sign_in(client, app, "alice")
    two_cases(client)
    assert client.post("/api/cases/1/phone", json={"reason": REASON}).status_code == 403
    assert events(app, "case.phone_revealed") == []
    resp = client.post("/api/cases/1/phone", json={"reason": REASON},
                       headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 200 and resp.json()["phone"] == PHONE
    assert [e.actor for e in events(app, "case.phone_revealed")] == ["alice"]


def test_the_case_page_reveals_the_number_once_for_a_reason(app, client):
    sign_in(client, app, "alice")
    two_cases(client)
    page = client.get("/cases/1")
    assert page.status_code == 200
    assert MASKED in page.text and no_full_number(page.text)
    assert 'action="/cases/1/phone"' in page.text
    csrf = page_csrf(client, "/cases/1")

    # No token, or a cross-site post: refused, nothing revealed or recorded.
    assert client.post("/cases/1/phone", data={"reason": REASON}).status_code == 403
    assert client.post("/cases/1/phone", data={"reason": REASON, "csrf_token": csrf},
                       headers={"Origin": "https://evil.example"}).status_code == 403
    short = client.post("/cases/1/phone", data={"reason": "x", "csrf_token": csrf})
    assert short.status_code == 422
    assert "at least three" in short.text and no_full_number(short.text)
    assert events(app, "case.phone_revealed") == []

    shown = client.post("/cases/1/phone", data={"reason": REASON, "csrf_token": csrf})
    assert shown.status_code == 200
    assert shown.text.count(PHONE) == 1 and "900456" not in shown.text
    assert shown.headers["cache-control"] == "no-store"
    (event,) = events(app, "case.phone_revealed")
    assert (event.actor, event.case_id, event.data) == ("alice", 1,
                                                        {"reason": REASON, "via": "dashboard"})
    # Shown once: the page, its live fragment and the queue show the masked number again, and
    # a reload of the answer's address (or a sign-in's return to it) leads to the page.
    again = client.get("/cases/1/phone", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/cases/1#reveal"
    for path in ("/cases/1", "/cases/1/live", "/"):
        resp = client.get(path)
        assert resp.status_code == 200 and no_full_number(resp.text), path


def test_a_number_removed_by_retention_is_shown_as_such_and_not_revealed(app, client):
    headers = token_for(app)
    text_in(client, "man shouting at people at leeds station", phone=PHONE)
    assert client.post("/api/cases/1/close", json={"outcome": "Advice given"},
                       headers=headers).status_code == 200
    update_case(app, 1, closed_at=utcnow() - timedelta(days=400))
    run_retention(app.state.sessions, now=utcnow(), retention_days=365)
    reporter = client.get("/api/cases/1", headers=headers).json()["reporter"]
    assert reporter["phone"].startswith("redacted:")
    resp = client.post("/api/cases/1/phone", json={"reason": REASON}, headers=headers)
    assert resp.status_code == 409 and "retention" in resp.json()["detail"]
    assert events(app, "case.phone_revealed") == []


def test_the_corpus_runner_still_finds_and_scores_its_cases(app, client):
    headers = token_for(app)

    def get_json(path: str) -> Any:
        process_pending(app.state.runtime)  # the runner's server reads texts in the background
        return client.get(path, headers=headers).json()

    driver = Driver(post_form=lambda path, data, h: client.post(path, data=data, headers=h),
                    get_json=get_json, public_url=PUBLIC, auth_token=TEST_AUTH_TOKEN)
    spec = {"id": "mask-1", "from": PHONE,
            "first": "cant talk, man with a knife on platform 4 at leeds station right now",
            "answers": {"asking_age": "about 30"},
            "expect": {"station": "LDS", "decision": "999", "discreet": True,
                       "opted_out": False}}
    outcome = play(driver, spec)
    assert outcome.case is not None and outcome.case["reporter"]["phone"] == MASKED
    assert outcome.checks == {"station": True, "decision": True, "discreet": True,
                              "opted_out": True}
    # It polled by number and read the case many times; each folded into one event.
    assert len(events(app, "cases.listed")) == 1
    assert len(events(app, "case.viewed")) == 1


def test_the_cad_integration_still_gets_the_number(settings_kwargs):
    # The dispatch hand-off is no person's screen: the CAD system may need to reach the texter.
    app = create_app(Settings(**settings_kwargs, integration_url="http://127.0.0.1:9/cad",
                              integration_secret="cad-secret-0123456789abcdef"))
    with TestClient(app, base_url=PUBLIC) as client:
        text_in(client, "man with a knife on platform 4 at leeds station right now", phone=PHONE)
        with app.state.sessions() as s:
            (payload,) = s.execute(select(Outbox.payload)
                                   .where(Outbox.kind == "integration")).scalars()
        assert payload["case"]["reporter"]["phone"] == PHONE
        assert payload["case"]["reporter"]["phone_masked"] is False
        headers = token_for(app)
        assert client.get("/api/cases/1", headers=headers).json()["reporter"]["phone"] == MASKED
