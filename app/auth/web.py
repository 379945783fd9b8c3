"""The dashboard's login: cookie sessions, CSRF checks, sign-in limits, logout, password change.

The session cookie is HttpOnly, SameSite=Lax, and Secure (with the __Host- prefix) whenever
TEXTLINE_PUBLIC_URL is https. Every unsafe request made with the cookie carries a CSRF token
bound to the session: a form field for the dashboard's forms, the X-CSRF-Token header for
the JSON API.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.auth import limits
from app.auth import sessions as svc
from app.auth.secret_key import ensure_secret_key
from app.auth.service import Principal
from app.kit.client_address import client_address
from app.kit.db import utcnow
from app.kit.errors import AppError, Forbidden
from app.kit.runtime import Runtime

router = APIRouter(include_in_schema=False)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """No live session: a page answers with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class PasswordChangeRequired(Exception):
    """A one-time password is in use: nothing but /password until it is changed."""


class PageForbidden(Exception):
    """Signed in, but the role (or the CSRF token) does not allow this page."""

    def __init__(self, message: str) -> None:
        self.message = message


@dataclass(frozen=True)
class PageUser:
    principal: Principal
    csrf: str
    session_id: int


def _rt(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def pages(request: Request) -> Any:
    """The dashboard's templates (app.dashboard.render.Pages), installed on the app."""
    return request.app.state.pages


def is_secure(request: Request) -> bool:
    return _rt(request).settings.public_url.startswith("https://")


def session_cookie(request: Request) -> str:
    return "__Host-textline" if is_secure(request) else "textline_session"


def login_cookie(request: Request) -> str:
    return "__Host-textline_login" if is_secure(request) else "textline_login"


def signing_key(request: Request) -> str:
    key = getattr(request.app.state, "signing_key", None)
    if key is None:
        key = ensure_secret_key(_rt(request))
        request.app.state.signing_key = key
    return key  # type: ignore[no-any-return]


def active_session(request: Request) -> svc.ActiveSession | None:
    """The request's session, looked up once per request (blocking: call from a thread)."""
    if hasattr(request.state, "web_session"):
        return request.state.web_session  # type: ignore[no-any-return]
    token = request.cookies.get(session_cookie(request))
    found = None
    if token:
        with _rt(request).work() as session:
            found = svc.resolve_session(session, token, utcnow())
    request.state.web_session = found
    return found


def same_origin(request: Request) -> bool:
    """A browser names the page an unsafe request came from; it must be this site."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    theirs = urlsplit(origin).netloc.lower()
    ours = {urlsplit(_rt(request).settings.public_url).netloc.lower(),
            (request.headers.get("host") or "").lower()}
    return theirs in ours


def session_principal(request: Request) -> Principal | None:
    """The JSON API's cookie authentication (app.state.session_principal)."""
    found = active_session(request)
    if found is None:
        return None
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER)
        if not same_origin(request) or not svc.csrf_valid(
                signing_key(request), "session", found.token_hash, given):
            raise Forbidden(f"CSRF token missing or invalid: send the {CSRF_HEADER} header")
    if found.must_change_password:
        raise Forbidden("change the one-time password at /password first")
    return found.principal


def page_user(role: str, *, allow_password_change: bool = False) -> Callable[..., PageUser]:
    def _dep(request: Request) -> PageUser:
        found = active_session(request)
        if found is None:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(path)
        if found.must_change_password and not allow_password_change:
            raise PasswordChangeRequired()
        if not found.principal.has(role):
            raise PageForbidden(f"This page needs the {role} role.")
        csrf = svc.csrf_token(signing_key(request), "session", found.token_hash)
        return PageUser(found.principal, csrf, found.session_id)

    return _dep


def check_csrf(request: Request, user: PageUser, given: str | None) -> None:
    """For the dashboard's own unsafe routes: a form field or the header."""
    given = given or request.headers.get(CSRF_HEADER)
    if not same_origin(request) or not given or not given.isascii() \
            or not hmac.compare_digest(given, user.csrf):
        raise PageForbidden("The form had expired or came from elsewhere. Reload and try again.")


def safe_next(value: str | None) -> str:
    """Only a path on this site: never //evil.example or a scheme."""
    if (not value or not value.startswith("/") or value.startswith("//")
            or "\\" in value or any(ord(c) < 32 for c in value)):
        return "/"
    return value


def request_address(request: Request) -> str:
    """The client's address, through the proxies TEXTLINE_TRUSTED_PROXIES names."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"),
                          _rt(request).settings.proxy_networks)


def _login_form(request: Request, *, error: str | None = None, status: int = 200,
                next_path: str = "/", username: str = "", notice: str | None = None) -> Response:
    nonce = request.cookies.get(login_cookie(request)) or secrets.token_urlsafe(24)
    csrf = svc.csrf_token(signing_key(request), "login", nonce)
    response = pages(request).render("login.html", status, csrf=csrf, error=error, notice=notice,
                                     next_path=next_path, username=username, user=None)
    response.set_cookie(login_cookie(request), nonce, max_age=12 * 3600, httponly=True,
                        samesite="strict", secure=is_secure(request), path="/")
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/", bye: int = 0) -> Response:
    if active_session(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, next_path=safe_next(next),
                       notice="You are signed out." if bye else None)


BUSY = "The server is busy signing others in. Please try again in a moment."
WRONG = "Wrong username or password."


def _wait_message(seconds: int) -> str:
    when = f"{seconds} second{'s' if seconds != 1 else ''}"
    if seconds >= 90:
        when = f"{round(seconds / 60)} minutes"
    return (f"Too many failed sign-ins with this username from here. Try again in {when}, "
            "or ask a supervisor to clear it on the dashboard's Accounts page.")


@router.post("/login")
async def login_submit(request: Request, username: str = Form(""), password: str = Form(""),
                       csrf_token: str = Form(""), next: str = Form("/")) -> Response:
    next_path = safe_next(next)
    nonce = request.cookies.get(login_cookie(request), "")
    if not same_origin(request) or not svc.csrf_valid(signing_key(request), "login", nonce,
                                                      csrf_token):
        return _login_form(request, status=400, next_path=next_path, username=username,
                           error="The sign-in form had expired. Please try again.")
    slots: limits.HashSlots = request.app.state.hash_slots
    if not slots.take():  # before any work: a flood past the bound costs nothing more
        response = _login_form(request, status=429, next_path=next_path, username=username,
                               error=BUSY)
        response.headers["Retry-After"] = "1"
        return response
    name = username.strip()[:64]
    key = limits.pair_key(signing_key(request), request_address(request), name)
    rt = _rt(request)
    user_agent = request.headers.get("user-agent")

    def work() -> tuple[int, svc.LoginResult | None, str | None]:
        now = utcnow()
        with rt.work() as session:
            wait = limits.seconds_to_wait(session, key, now)
            if wait:
                return wait, None, None
            result = svc.authenticate(session, name, password, now)
            if result.user is None:
                limits.failed(session, key, result.user_id, now)
                return 0, result, None
            limits.succeeded(session, key)
            return 0, result, svc.start_session(session, result.user, now, user_agent)

    try:
        wait, result, token = await run_in_threadpool(work)
    finally:
        slots.give_back()
    if wait:
        response = _login_form(request, status=429, next_path=next_path, username=username,
                               error=_wait_message(wait))
        response.headers["Retry-After"] = str(wait)
        return response
    if token is None or result is None or result.user is None:
        return _login_form(request, status=401, next_path=next_path, username=username,
                           error=WRONG)
    target = "/password" if result.user.must_change_password else next_path
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(session_cookie(request), token, httponly=True, samesite="lax",
                        secure=is_secure(request), path="/")
    response.delete_cookie(login_cookie(request), path="/", secure=is_secure(request),
                           httponly=True, samesite="strict")
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form(""),
           user: PageUser = Depends(page_user("operator", allow_password_change=True))) -> Response:
    check_csrf(request, user, csrf_token)
    token = request.cookies.get(session_cookie(request), "")
    with _rt(request).work() as session:
        svc.end_session(session, token, utcnow())
    response = RedirectResponse("/login?bye=1", status_code=303)
    response.delete_cookie(session_cookie(request), path="/", secure=is_secure(request),
                           httponly=True, samesite="lax")
    return response


@router.get("/password")
def password_page(request: Request, user: PageUser = Depends(
        page_user("operator", allow_password_change=True))) -> Response:
    found = active_session(request)
    return pages(request).render("password.html", user=user, error=None,
                                 forced=bool(found and found.must_change_password))


@router.post("/password")
async def password_submit(request: Request, current: str = Form(""), new: str = Form(""),
                          confirm: str = Form(""), csrf_token: str = Form(""),
                          user: PageUser = Depends(page_user("operator",
                                                             allow_password_change=True))
                          ) -> Response:
    check_csrf(request, user, csrf_token)
    slots: limits.HashSlots = request.app.state.hash_slots
    if not slots.take():  # a change checks and hashes a password: the same bound as sign-in
        response = pages(request).render("password.html", 429, user=user, error=BUSY,
                                         forced=False)
        response.headers["Retry-After"] = "1"
        return response

    def work() -> None:
        with _rt(request).work() as session:
            svc.change_password(session, user.principal.user_id, current, new, confirm,
                                user.session_id, utcnow())

    try:
        await run_in_threadpool(work)
    except AppError as exc:
        found = await run_in_threadpool(active_session, request)
        return pages(request).render("password.html", 422, user=user, error=exc.message,
                                     forced=bool(found and found.must_change_password))
    finally:
        slots.give_back()
    return RedirectResponse("/", status_code=303)


def login_redirect(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(safe_next(next_path), safe='/')}",
                            status_code=303)
