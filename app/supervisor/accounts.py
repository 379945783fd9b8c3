"""/supervisor/accounts: who is held back from signing in, and the two things a supervisor on
shift can do about it without a terminal: clear a user's sign-in limits, and reset a password.

Both are POSTs carrying the session's CSRF token, and both are audited with the supervisor as
the actor (app/auth/accounts.py writes the events). A reset shows the one-time password once,
on the answer to the POST, never in a URL or a log.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth import accounts
from app.auth.passwords import one_time_password
from app.auth.web import PageUser, check_csrf
from app.kit.db import utcnow
from app.kit.errors import AppError, Forbidden, NotFound
from app.models import User, WebSession
from app.supervisor.router import Supervisor, _pages

router = APIRouter(include_in_schema=False)
DONE = {"unlocked": "Sign-in limits cleared for {user}: they can sign in again now."}


def _render(request: Request, user: PageUser, status: int = 200, *, error: str | None = None,
            notice: str | None = None, one_time: tuple[str, str] | None = None) -> Response:
    with request.app.state.read_sessions() as session:
        users = accounts.list_users(session, utcnow())
    resettable = {u.username for u in users
                  if u.username != user.principal.username
                  and accounts.may_reset_password(user.principal.role, u.role)}
    response = _pages(request).render("accounts.html", status, user=user, users=users,
                                      resettable=resettable, error=error, notice=notice,
                                      one_time=one_time)
    if one_time is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/supervisor/accounts")
def accounts_page(request: Request, done: str = "", name: str = "",
                  user: PageUser = Supervisor) -> Response:
    notice = DONE[done].format(user=name) if done in DONE and name else None
    return _render(request, user, notice=notice)


@router.post("/supervisor/accounts/unlock")
def unlock(request: Request, username: str = Form("", max_length=64),
           csrf_token: str = Form(""), user: PageUser = Supervisor) -> Response:
    check_csrf(request, user, csrf_token)
    try:
        with request.app.state.runtime.work() as session:
            accounts.unlock_user(session, username, actor=user.principal.username, now=utcnow())
    except AppError as exc:
        return _render(request, user, exc.status_code, error=exc.message)
    return RedirectResponse("/supervisor/accounts?" + urlencode({"done": "unlocked",
                                                                  "name": username}),
                            status_code=303)


def _resettable(session: Session, user: PageUser, username: str) -> None:
    """Raise unless this supervisor may reset this user's password."""
    role = session.execute(select(User.role).where(User.username == username)
                           ).scalar_one_or_none()
    if role is None:
        raise NotFound(f"There is no user {username!r}.")
    if username == user.principal.username:
        raise Forbidden("Change your own password on the Password page.")
    if not accounts.may_reset_password(user.principal.role, role):
        raise Forbidden(f"Only an admin can reset the password of a {role}.")


@router.get("/supervisor/accounts/reset-password")
def confirm_reset(request: Request, username: str = Query("", max_length=64),
                  user: PageUser = Supervisor) -> Response:
    """A step between the button and the reset: it signs the user out mid-shift."""
    try:
        with request.app.state.read_sessions() as session:
            _resettable(session, user, username)
            sessions = session.execute(
                select(func.count()).select_from(WebSession).join(User)
                .where(User.username == username, WebSession.revoked_at.is_(None),
                       WebSession.expires_at > utcnow())).scalar_one()
    except AppError as exc:
        return _render(request, user, exc.status_code, error=exc.message)
    return _pages(request).render("reset_confirm.html", user=user, target=username,
                                  sessions=sessions)


@router.post("/supervisor/accounts/reset-password")
def reset_password(request: Request, username: str = Form("", max_length=64),
                   csrf_token: str = Form(""), user: PageUser = Supervisor) -> Response:
    check_csrf(request, user, csrf_token)
    password = one_time_password()
    try:
        with request.app.state.runtime.work() as session:
            _resettable(session, user, username)
            revoked = accounts.reset_password(session, username, password,
                                              actor=user.principal.username, now=utcnow())
    except AppError as exc:
        return _render(request, user, exc.status_code, error=exc.message)
    signed_out = f" and signed out of {revoked} session{'s' if revoked != 1 else ''}" \
        if revoked else ""
    return _render(request, user, notice=f"Password of {username} reset{signed_out}.",
                   one_time=(username, password))
