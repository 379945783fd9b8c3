"""Dashboard sign-in: cookie flags, wrong passwords, logout, one-time passwords (the limits on
failed sign-ins: tests/security/test_login_throttle.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.kit.db import unit_of_work, utcnow
from app.models import AuditEvent, User, WebSession
from tests.dashboard.signin import PASSWORD, add_user, page_csrf, post_login, sign_in


def _set_cookie(resp) -> str:  # type: ignore[no-untyped-def]
    return "; ".join(v for k, v in resp.headers.multi_items() if k == "set-cookie")


def test_pages_redirect_to_login_when_signed_out(client):
    for path in ("/", "/cases/1", "/simulator", "/queue/rows", "/password"):
        resp = client.get(path, follow_redirects=False)
        assert resp.status_code == 303, path
        assert resp.headers["location"].startswith("/login?next=")
    assert client.get("/events").status_code == 401
    assert client.get("/api/cases").status_code == 401


def test_login_sets_a_hardened_session_cookie(app, client):
    add_user(app, "alice")
    resp = post_login(client, "alice", next="/simulator")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/simulator"
    cookie = _set_cookie(resp)
    assert "__Host-textline=" in cookie
    session_part = cookie.split("__Host-textline=")[1].split(", __Host")[0].lower()
    for flag in ("httponly", "samesite=lax", "secure", "path=/"):
        assert flag in session_part
    assert client.get("/").status_code == 200
    with unit_of_work(app.state.sessions) as s:
        row = s.execute(select(WebSession)).scalar_one()
        raw = client.cookies.get("__Host-textline")
        assert raw and row.token_hash != raw and len(row.token_hash) == 64
        actions = s.execute(select(AuditEvent.action)).scalars().all()
    assert "auth.login" in actions


def test_cookie_is_not_secure_on_plain_http(settings_kwargs):
    from fastapi.testclient import TestClient

    from app.kit.config import Settings
    from app.main import create_app

    app = create_app(Settings(**{**settings_kwargs, "public_url": "http://127.0.0.1:8000"}))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        add_user(app, "alice")
        cookie = _set_cookie(post_login(client, "alice"))
    assert "textline_session=" in cookie and "__Host" not in cookie
    assert "secure" not in cookie.lower()
    assert "httponly" in cookie.lower()


def test_wrong_password_and_unknown_user_look_the_same(app, client):
    add_user(app, "alice")
    wrong = post_login(client, "alice", "not-the-password")
    unknown = post_login(client, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username or password." in wrong.text
    assert "Wrong username or password." in unknown.text
    with unit_of_work(app.state.sessions) as s:
        events = s.execute(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
                           ).scalars().all()
    assert [e.actor for e in events] == ["alice", "anonymous"]
    # A password typed into the username box must not end up in the audit log.
    assert all("nobody" not in str(e.data) for e in events)


def test_login_needs_its_csrf_token(app, client):
    add_user(app, "alice")
    client.get("/login")
    resp = client.post("/login", data={"username": "alice", "password": PASSWORD,
                                       "csrf_token": "forged"}, follow_redirects=False)
    assert resp.status_code == 400
    assert "__Host-textline=" not in _set_cookie(resp)


def test_next_never_leaves_the_site(app, client):
    add_user(app, "alice")
    for evil in ("//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:x"):
        client.cookies.clear()
        resp = post_login(client, "alice", next=evil)
        assert resp.headers["location"] == "/", evil


def test_logout_revokes_the_session_server_side(app, client):
    csrf = sign_in(client, app)
    stolen = client.cookies.get("__Host-textline")
    resp = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login?bye=1"
    client.cookies.clear()
    client.cookies.set("__Host-textline", stolen, domain="textline.example.org")
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get("/api/cases").status_code == 401


def test_logout_needs_the_csrf_token(app, client):
    sign_in(client, app)
    assert client.post("/logout", data={"csrf_token": "nope"}).status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200


def test_expired_and_idle_sessions_end(app, client):
    sign_in(client, app)
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(hours=5)))
    assert client.get("/", follow_redirects=False).status_code == 303
    sign_in(client, app, "bob")
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/", follow_redirects=False).status_code == 303


def test_inactive_user_cannot_sign_in_or_keep_a_session(app, client):
    sign_in(client, app)
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(User).values(active=False))
    assert client.get("/", follow_redirects=False).status_code == 303
    assert post_login(client, "alice").status_code == 401


def test_one_time_password_must_be_changed_first(app, client):
    add_user(app, "olly", must_change_password=True)
    resp = post_login(client, "olly")
    assert resp.headers["location"] == "/password"
    assert client.get("/", follow_redirects=False).headers["location"] == "/password"
    assert client.get("/api/cases").status_code == 403
    csrf = page_csrf(client, "/password")
    bad = client.post("/password", data={"current": PASSWORD, "new": "short", "confirm": "short",
                                         "csrf_token": csrf})
    assert bad.status_code == 422 and "at least 12" in bad.text
    good = client.post("/password", data={"current": PASSWORD, "new": "a-much-better-one",
                                          "confirm": "a-much-better-one", "csrf_token": csrf},
                       follow_redirects=False)
    assert good.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 200
    client.cookies.clear()
    assert post_login(client, "olly", "a-much-better-one").headers["location"] == "/"


def test_password_change_signs_out_other_sessions(app, client, settings):
    from fastapi.testclient import TestClient

    sign_in(client, app)
    with TestClient(app, base_url="https://textline.example.org") as other:
        assert post_login(other, "alice").status_code == 303
        assert other.get("/", follow_redirects=False).status_code == 200
        csrf = page_csrf(client, "/password")
        client.post("/password", data={"current": PASSWORD, "new": "another-long-one",
                                       "confirm": "another-long-one", "csrf_token": csrf})
        assert other.get("/", follow_redirects=False).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 200
