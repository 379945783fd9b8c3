"""A user held back from signing in is told a supervisor can clear it, and that is true: from
the dashboard, by a POST with the session's CSRF token, audited under the supervisor's name.
A supervisor can also reset a password there, but never one of an equal or higher role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.kit.db import unit_of_work
from app.models import AuditEvent, LoginFailure
from tests.dashboard.signin import PASSWORD, add_user, page_csrf, post_login
from tests.security.test_login_throttle import browser_at, fail

BASE = "https://textline.example.org"
_OTP = re.compile(r'<code id="one-time-password">([^<]+)</code>')


@pytest.fixture
def supervisor(app: Any) -> Iterator[tuple[TestClient, str]]:
    """Sam, a supervisor, signed in at his own desk: (browser, CSRF token)."""
    add_user(app, "sam", "supervisor")
    with TestClient(app, base_url=BASE, client=("192.0.2.50", 40000)) as sam:
        assert post_login(sam, "sam").status_code == 303
        yield sam, page_csrf(sam, "/supervisor/accounts")


def user_csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def events(app: Any, action: str) -> list[AuditEvent]:
    with unit_of_work(app.state.sessions) as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.seq)).scalars())


def test_a_supervisor_clears_a_users_sign_in_limits_from_the_dashboard(app, supervisor):
    sam, csrf = supervisor
    add_user(app, "alice")
    with browser_at(app, "198.51.100.30") as desk:
        fail(desk, app, "alice", 6)
        held = post_login(desk, "alice")
        assert held.status_code == 429
        assert "ask a supervisor to clear it on the dashboard" in held.text

        page = sam.get("/supervisor/accounts")
        assert page.status_code == 200
        row = page.text[page.text.index('id="user-alice"'):]
        row = row[:row.index("</tr>")]
        assert "waiting to try again" in row and "<td>6</td>" in row

        # Without the token, or from another site, nothing changes.
        assert sam.post("/supervisor/accounts/unlock",
                        data={"username": "alice"}).status_code == 403
        assert sam.post("/supervisor/accounts/unlock",
                        data={"username": "alice", "csrf_token": csrf},
                        headers={"Origin": "https://evil.example"}).status_code == 403
        assert post_login(desk, "alice").status_code == 429

        done = sam.post("/supervisor/accounts/unlock",
                        data={"username": "alice", "csrf_token": csrf}, follow_redirects=False)
        assert done.status_code == 303
        assert "Sign-in limits cleared for alice" in sam.get(done.headers["location"]).text
        # Straight away, from the very address that was held back.
        assert post_login(desk, "alice").status_code == 303
    [event] = events(app, "user.unlocked")
    assert event.actor == "sam"
    assert event.data["username"] == "alice" and event.data["waits_cleared"] == 1
    assert event.data["failed_logins"] == 6
    with unit_of_work(app.state.sessions) as s:
        assert s.execute(select(LoginFailure)).first() is None


def test_nothing_to_clear_is_said_plainly(app, supervisor):
    sam, csrf = supervisor
    add_user(app, "bob")
    resp = sam.post("/supervisor/accounts/unlock", data={"username": "bob", "csrf_token": csrf})
    assert resp.status_code == 409 and "no failed sign-ins to clear" in resp.text
    resp = sam.post("/supervisor/accounts/unlock", data={"username": "ghost", "csrf_token": csrf})
    assert resp.status_code == 404 and "no user" in resp.text
    assert events(app, "user.unlocked") == []


def test_a_supervisor_resets_an_operators_password_once_shown(app, supervisor):
    sam, csrf = supervisor
    add_user(app, "olly")
    with TestClient(app, base_url=BASE) as olly:
        assert post_login(olly, "olly").status_code == 303
        # The button asks first, and asking changes nothing.
        ask = sam.get("/supervisor/accounts/reset-password", params={"username": "olly"})
        assert ask.status_code == 200 and "signed out of 1 open session" in ask.text
        assert 'id="confirm-reset"' in ask.text and user_csrf(ask.text) == csrf
        assert olly.get("/", follow_redirects=False).status_code == 200
        resp = sam.post("/supervisor/accounts/reset-password",
                        data={"username": "olly", "csrf_token": csrf})
        assert resp.status_code == 200
        assert resp.headers["cache-control"] == "no-store"
        one_time = _OTP.search(resp.text)
        assert one_time, "the one-time password is not shown"
        assert "signed out of 1 session" in resp.text
        # Signed out, the old password dead, the new one good for choosing their own.
        assert olly.get("/", follow_redirects=False).status_code == 303
        olly.cookies.clear()
        assert post_login(olly, "olly", PASSWORD).status_code == 401
        first = post_login(olly, "olly", one_time.group(1))
        assert first.status_code == 303 and first.headers["location"] == "/password"
    [event] = events(app, "user.password_reset")
    assert event.actor == "sam" and event.data["username"] == "olly"
    assert one_time.group(1) not in str(event.data)
    assert sam.get("/supervisor/accounts").text.count("one-time-password") == 0  # shown once


def test_no_reset_of_an_equal_or_higher_role_or_without_the_token(app, supervisor):
    sam, csrf = supervisor
    add_user(app, "sue", "supervisor")
    add_user(app, "ada", "admin")
    page = sam.get("/supervisor/accounts").text
    assert "reset-password" not in page[page.index('id="user-ada"'):][:800]
    for name, role in (("sue", "supervisor"), ("ada", "admin")):
        ask = sam.get("/supervisor/accounts/reset-password", params={"username": name})
        assert ask.status_code == 403 and "confirm-reset" not in ask.text
        resp = sam.post("/supervisor/accounts/reset-password",
                        data={"username": name, "csrf_token": csrf})
        assert resp.status_code == 403 and f"Only an admin can reset the password of a {role}" \
            in resp.text
    assert sam.post("/supervisor/accounts/reset-password",
                    data={"username": "sam", "csrf_token": csrf}).status_code == 403
    add_user(app, "olly")
    assert sam.post("/supervisor/accounts/reset-password",
                    data={"username": "olly"}).status_code == 403
    assert events(app, "user.password_reset") == []
    for name in ("sue", "ada", "olly"):  # every old password still works
        with TestClient(app, base_url=BASE) as c:
            assert post_login(c, name).status_code == 303


def test_an_admin_may_reset_a_supervisor(app):
    add_user(app, "ada", "admin")
    add_user(app, "sue", "supervisor")
    with TestClient(app, base_url=BASE) as ada:
        assert post_login(ada, "ada").status_code == 303
        csrf = page_csrf(ada, "/supervisor/accounts")
        resp = ada.post("/supervisor/accounts/reset-password",
                        data={"username": "sue", "csrf_token": csrf})
        assert resp.status_code == 200 and _OTP.search(resp.text)
    assert [e.actor for e in events(app, "user.password_reset")] == ["ada"]


def test_operators_have_no_accounts_page(app):
    add_user(app, "olly")
    add_user(app, "alice")
    with TestClient(app, base_url=BASE) as olly:
        assert post_login(olly, "olly").status_code == 303
        csrf = page_csrf(olly)
        assert olly.get("/supervisor/accounts").status_code == 403
        assert olly.post("/supervisor/accounts/reset-password",
                         data={"username": "alice", "csrf_token": csrf}).status_code == 403
        assert "Accounts" not in olly.get("/").text
    assert events(app, "user.password_reset") == []
