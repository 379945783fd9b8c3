"""Signing in to the dashboard from a test client, as a browser would."""

from __future__ import annotations

import re
from typing import Any

from app.auth.service import create_user
from app.kit.db import unit_of_work

PASSWORD = "correct-horse-battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def add_user(app: Any, username: str, role: str = "operator", *,
             must_change_password: bool = False) -> None:
    with unit_of_work(app.state.sessions) as session:
        create_user(session, username, role, PASSWORD, actor="test",
                    must_change_password=must_change_password)


def login_form_token(client: Any) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    match = _CSRF.search(page.text)
    assert match, "login form has no CSRF token"
    return match.group(1)


def post_login(client: Any, username: str, password: str = PASSWORD, **extra: str) -> Any:
    token = login_form_token(client)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token, **extra}, follow_redirects=False)


def sign_in(client: Any, app: Any, username: str = "alice", role: str = "operator") -> str:
    """Create the user, sign in, and return the session's CSRF token."""
    add_user(app, username, role)
    resp = post_login(client, username)
    assert resp.status_code == 303, resp.text
    return page_csrf(client)


def page_csrf(client: Any, path: str = "/") -> str:
    match = _META.search(client.get(path).text)
    assert match, "page has no CSRF meta tag"
    return match.group(1)
