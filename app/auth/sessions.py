"""Dashboard logins: password checks, server-side sessions, CSRF tokens.

Services flush and never commit. Only the SHA-256 of a session id is stored, so the table is
useless to whoever reads it; logging out revokes the row, so a stolen cookie dies with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.passwords import hash_password, needs_rehash, require_strong, verify_password
from app.auth.service import Principal
from app.kit.errors import Unprocessable
from app.models import User, WebSession

# A control-room shift is twelve hours; a screen left on the queue keeps its session alive
# through the live stream, so the idle limit only catches a browser that was walked away from.
SESSION_LIFETIME = timedelta(hours=14)
IDLE_TIMEOUT = timedelta(hours=4)
TOUCH_EVERY = timedelta(minutes=1)


def hash_session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LoginResult:
    user: User | None  # only when signed in
    outcome: str  # ok | invalid
    user_id: int | None = None  # the user the username names, signed in or not


def authenticate(session: Session, username: str, password: str, now: datetime) -> LoginResult:
    """Check a username and password. Failures never lock the account (app/auth/limits.py makes
    the one who fails wait instead); a count of failures since the last success is kept for
    supervisors to see.

    An unknown user, a disabled one, one locked by an administrator (locked_until) and a wrong
    password all cost one Argon2 check and all answer "invalid": neither the words nor the time
    taken tell a stranger which usernames exist or which are locked. The username tried is
    audited only when it names a real user: people type passwords into the username box, and
    the audit log must not collect them.
    """
    user = session.execute(
        select(User).where(User.username == username[:64]).with_for_update(key_share=True)
    ).scalar_one_or_none()
    ok = verify_password(user.password_hash if user else None, password)
    if user is None:
        record(session, "anonymous", "auth.login_failed", at=now, data={"reason": "unknown user"})
        return LoginResult(None, "invalid")
    locked = user.locked_until is not None and user.locked_until > now
    if not ok or not user.active or locked:
        if not ok:
            user.failed_logins += 1
        data: dict[str, object] = {
            "reason": "wrong password" if not ok else "inactive" if not user.active else "locked",
            "failures": user.failed_logins}
        if locked and user.locked_until is not None:
            data["locked_until"] = user.locked_until.isoformat()
        session.flush()
        record(session, user.username, "auth.login_failed", at=now, data=data)
        return LoginResult(None, "invalid", user.id)
    user.failed_logins = 0
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return LoginResult(user, "ok", user.id)


def start_session(session: Session, user: User, now: datetime, user_agent: str | None) -> str:
    """Open a session for the user; returns the cookie value (shown once, never stored)."""
    token = secrets.token_urlsafe(32)
    row = WebSession(token_hash=hash_session_id(token), user_id=user.id, created_at=now,
                     last_seen_at=now, expires_at=now + SESSION_LIFETIME,
                     user_agent=(user_agent or "")[:200] or None)
    session.add(row)
    session.flush()
    record(session, user.username, "auth.login", at=now, data={"session": row.id})
    return token


@dataclass(frozen=True)
class ActiveSession:
    principal: Principal
    session_id: int
    token_hash: str
    must_change_password: bool


def resolve_session(session: Session, token: str, now: datetime) -> ActiveSession | None:
    """The live session behind a cookie value, or None; refreshes its last-seen time now and then."""
    if not token or len(token) > 100:
        return None
    row = session.execute(
        select(WebSession, User).join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == hash_session_id(token))
    ).first()
    if row is None:
        return None
    web, user = row
    if (web.revoked_at is not None or not user.active or web.expires_at <= now
            or web.last_seen_at + IDLE_TIMEOUT <= now):
        return None
    if now - web.last_seen_at >= TOUCH_EVERY:
        session.execute(update(WebSession).where(WebSession.id == web.id)
                        .values(last_seen_at=now))
    return ActiveSession(Principal(user.id, user.username, user.role, "session"), web.id,
                         web.token_hash, user.must_change_password)


def end_session(session: Session, token: str, now: datetime) -> bool:
    """Revoke the session behind a cookie value; False when there was none to revoke."""
    web = session.execute(
        select(WebSession).where(WebSession.token_hash == hash_session_id(token),
                                 WebSession.revoked_at.is_(None))
    ).scalar_one_or_none()
    if web is None:
        return False
    web.revoked_at = now
    username = session.execute(select(User.username).where(User.id == web.user_id)).scalar_one()
    session.flush()
    record(session, username, "auth.logout", at=now, data={"session": web.id})
    return True


def revoke_other_sessions(session: Session, user_id: int, keep_id: int | None,
                          now: datetime) -> int:
    stmt = update(WebSession).where(WebSession.user_id == user_id,
                                    WebSession.revoked_at.is_(None))
    if keep_id is not None:
        stmt = stmt.where(WebSession.id != keep_id)
    return session.execute(stmt.values(revoked_at=now)).rowcount or 0  # type: ignore[attr-defined]


def change_password(session: Session, user_id: int, current: str, new: str, confirm: str,
                    keep_session_id: int | None, now: datetime) -> None:
    """Change a user's own password; every other session of theirs is signed out."""
    user = session.execute(
        select(User).where(User.id == user_id).with_for_update(key_share=True)).scalar_one()
    if not verify_password(user.password_hash, current):
        raise Unprocessable("the current password is not right")
    if new != confirm:
        raise Unprocessable("the two new passwords differ")
    if new == current:
        raise Unprocessable("the new password must differ from the current one")
    require_strong(new, user_inputs=(user.username,), what="new password")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    revoked = revoke_other_sessions(session, user.id, keep_session_id, now)
    session.flush()
    record(session, user.username, "auth.password_changed", at=now,
           data={"other_sessions_revoked": revoked})


def csrf_token(secret: str, purpose: str, bound_to: str) -> str:
    """A token tied to one session (or one login form): useless to a page on another site,
    which can neither read the cookie nor compute the MAC."""
    return hmac.new(secret.encode(), f"{purpose}\x00{bound_to}".encode(),
                    hashlib.sha256).hexdigest()


def csrf_valid(secret: str, purpose: str, bound_to: str, given: str | None) -> bool:
    # A token is hex: anything else is not one, and compare_digest refuses non-ASCII str.
    if not given or not bound_to or not given.isascii():
        return False
    return hmac.compare_digest(csrf_token(secret, purpose, bound_to), given)
