"""Account administration: roles, disabling, unlocking, password resets, token revocation.

The `textline user ...` and `textline token ...` commands call these. They live beside
service.py rather than in it because they revoke web sessions (sessions.py), which itself
imports service.py. Services flush and never commit; every change is an audit event.

A role or an `active` flag is read from the user's row on every request (resolve_token,
resolve_session), so a change here holds from the user's next request; nothing caches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth import limits
from app.auth.passwords import hash_password, require_strong
from app.auth.service import ROLE_RANK, ROLES
from app.auth.sessions import revoke_other_sessions
from app.kit.errors import Conflict, NotFound, Unprocessable
from app.models import ApiToken, User


@dataclass(frozen=True)
class UserRow:
    username: str
    role: str
    active: bool
    locked_until: datetime | None  # only while the lock still holds
    created_at: datetime
    failed_logins: int = 0  # since their last good sign-in
    waiting_at: int = 0  # (address, username) pairs made to wait before trying again now


@dataclass(frozen=True)
class TokenRow:
    id: int
    username: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def _user(session: Session, username: str) -> User:
    """The user's row, locked for the change about to be made (see CONTRIBUTING: row locks)."""
    user = session.execute(
        select(User).where(User.username == username).with_for_update(key_share=True)
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def list_users(session: Session, now: datetime) -> list[UserRow]:
    waiting = limits.waiting_pairs(session, now)
    users = session.execute(select(User).order_by(User.username)).scalars()
    return [UserRow(u.username, u.role, u.active,
                    u.locked_until if u.locked_until and u.locked_until > now else None,
                    u.created_at, u.failed_logins, waiting.get(u.id, 0)) for u in users]


def may_reset_password(actor_role: str, target_role: str) -> bool:
    """Whoever resets a password learns it: only for someone of a lower role, or by an admin.
    Otherwise a supervisor could take over an admin's account."""
    return actor_role == "admin" or ROLE_RANK[actor_role] > ROLE_RANK[target_role]


def set_role(session: Session, username: str, role: str, *, actor: str, now: datetime) -> str:
    """Change the user's role; returns the role they had."""
    if role not in ROLES:
        raise Unprocessable(f"role must be one of {', '.join(ROLES)}")
    user = _user(session, username)
    if user.role == role:
        raise Conflict(f"user {username!r} already has the role {role}")
    old, user.role = user.role, role
    session.flush()
    record(session, actor, "user.role_changed", at=now,
           data={"username": username, "from": old, "to": role})
    return old


def disable_user(session: Session, username: str, *, actor: str,
                 now: datetime) -> tuple[int, int]:
    """Disable the user and revoke every session and token they hold, so that enabling them
    later does not bring a forgotten laptop or a leaked token back to life.
    Returns (sessions revoked, tokens revoked)."""
    user = _user(session, username)
    if not user.active:
        raise Conflict(f"user {username!r} is already disabled")
    user.active = False
    sessions = revoke_other_sessions(session, user.id, None, now)
    tokens = session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)).rowcount or 0  # type: ignore[attr-defined]
    session.flush()
    record(session, actor, "user.disabled", at=now,
           data={"username": username, "sessions_revoked": sessions, "tokens_revoked": tokens})
    return sessions, tokens


def enable_user(session: Session, username: str, *, actor: str, now: datetime) -> None:
    user = _user(session, username)
    if user.active:
        raise Conflict(f"user {username!r} is not disabled")
    user.active = True
    session.flush()
    record(session, actor, "user.enabled", at=now, data={"username": username})


def unlock_user(session: Session, username: str, *, actor: str, now: datetime) -> None:
    """Clear a lock, the failure count, and every wait that failed sign-ins set for this user
    (app/auth/limits.py), wherever they were tried from."""
    user = _user(session, username)
    locked = user.locked_until is not None and user.locked_until > now
    cleared = limits.clear_user(session, user.id)
    if not locked and user.failed_logins == 0 and cleared == 0:
        raise Conflict(f"user {username!r} is not locked and has no failed sign-ins to clear")
    data = {"username": username, "failed_logins": user.failed_logins,
            "locked_until": user.locked_until.isoformat() if locked and user.locked_until else None,
            "waits_cleared": cleared}
    user.locked_until = None
    user.failed_logins = 0
    session.flush()
    record(session, actor, "user.unlocked", at=now, data=data)


def reset_password(session: Session, username: str, password: str, *, actor: str,
                   now: datetime) -> int:
    """Set a password the user must change at their next sign-in, signing out their sessions
    (whoever held one may be why it was reset) and clearing the waits their failed sign-ins set.
    Returns how many sessions were revoked."""
    require_strong(password, user_inputs=(username,))
    user = _user(session, username)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.failed_logins = 0
    limits.clear_user(session, user.id)
    revoked = revoke_other_sessions(session, user.id, None, now)
    session.flush()
    record(session, actor, "user.password_reset", at=now,
           data={"username": username, "sessions_revoked": revoked})
    return revoked


def list_tokens(session: Session, username: str | None = None) -> list[TokenRow]:
    stmt = (select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
            .order_by(ApiToken.id))
    if username is not None:
        if session.execute(select(User.id).where(User.username == username)).first() is None:
            raise NotFound(f"no user {username!r}")
        stmt = stmt.where(User.username == username)
    return [TokenRow(t.id, name, t.name, t.created_at, t.expires_at, t.last_used_at, t.revoked_at)
            for t, name in session.execute(stmt)]


def revoke_token(session: Session, token_id: int, *, actor: str, now: datetime) -> TokenRow:
    row = session.execute(
        select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.id == token_id).with_for_update(key_share=True, of=ApiToken)
    ).first()
    if row is None:
        raise NotFound(f"no token {token_id}")
    token, username = row
    if token.revoked_at is not None:
        when = token.revoked_at.isoformat(timespec="seconds")
        raise Conflict(f"token {token_id} was already revoked at {when}")
    token.revoked_at = now
    session.flush()
    record(session, actor, "token.revoked", at=now,
           data={"id": token.id, "username": username, "name": token.name})
    return TokenRow(token.id, username, token.name, token.created_at, token.expires_at,
                    token.last_used_at, token.revoked_at)
