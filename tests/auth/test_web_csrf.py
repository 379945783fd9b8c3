"""The session cookie on the JSON API and the dashboard's forms: CSRF and origin checks, roles."""

from __future__ import annotations

from sqlalchemy import select

from app.kit.db import unit_of_work
from app.models import Message
from tests.dashboard.signin import sign_in
from tests.helpers import text_in


def test_cookie_session_reads_the_api(app, client):
    sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    body = client.get("/api/cases").json()
    assert len(body["items"]) == 1


def test_unsafe_api_call_with_cookie_needs_the_csrf_header(app, client):
    csrf = sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    no_token = client.post("/api/cases/1/notes", json={"body": "checked CCTV"})
    assert no_token.status_code == 403
    assert "CSRF" in no_token.json()["detail"]
    wrong = client.post("/api/cases/1/notes", json={"body": "checked CCTV"},
                        headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    ok = client.post("/api/cases/1/notes", json={"body": "checked CCTV"},
                     headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201
    assert ok.json()["author"] == "note:alice"


def test_cross_site_origin_is_refused_even_with_the_token(app, client):
    csrf = sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    resp = client.post("/api/cases/1/notes", json={"body": "x"},
                       headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert resp.status_code == 403
    same = client.post("/api/cases/1/notes", json={"body": "x"},
                       headers={"X-CSRF-Token": csrf, "Origin": "https://textline.example.org"})
    assert same.status_code == 201


def test_dashboard_forms_need_the_csrf_field(app, client):
    csrf = sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    forged = client.post("/cases/1/note", data={"body": "forged", "csrf_token": "x" * 64})
    assert forged.status_code == 403
    missing = client.post("/cases/1/reply", data={"body": "forged"})
    assert missing.status_code == 403
    ok = client.post("/cases/1/note", data={"body": "real", "csrf_token": csrf},
                     follow_redirects=False)
    assert ok.status_code == 303
    with unit_of_work(app.state.sessions) as s:
        bodies = s.execute(select(Message.body).where(Message.direction == "internal")
                           ).scalars().all()
    assert bodies == ["real"]


def test_csrf_token_of_one_session_fails_in_another(app, client, settings):
    from fastapi.testclient import TestClient

    alice_csrf = sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    with TestClient(app, base_url="https://textline.example.org") as other:
        sign_in(other, app, "bob")
        resp = other.post("/cases/1/note", data={"body": "x", "csrf_token": alice_csrf})
    assert resp.status_code == 403


def test_every_role_reaches_the_operator_pages(app, client):
    text_in(client, "someone shouting at kings cross")
    for n, role in enumerate(("operator", "supervisor", "admin")):
        client.cookies.clear()
        sign_in(client, app, f"user{n}", role)
        for path in ("/", "/cases/1", "/simulator", "/queue/rows", "/cases/1/live"):
            assert client.get(path, follow_redirects=False).status_code == 200, (role, path)


def test_security_headers_on_pages(app, client):
    sign_in(client, app)
    for path in ("/", "/login", "/simulator"):
        resp = client.get(path)
        csp = resp.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["cache-control"] == "no-store"
