"""Users and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.passwords import hash_password, require_strong
from app.kit.config import Settings
from app.kit.db import utcnow
from app.kit.errors import Conflict, NotFound, Unprocessable
from app.models import ApiToken, User

ROLES = ("operator", "supervisor", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
TOKEN_PREFIX = "tl_"
TOKEN_DAYS: int = Settings.model_fields["token_days"].default  # TEXTLINE_TOKEN_DAYS
MAX_TOKEN_DAYS = 3650


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, authenticated by token or session."""

    user_id: int
    username: str
    role: str
    via: str  # token | session

    def has(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def create_user(session: Session, username: str, role: str, password: str, *, actor: str,
                must_change_password: bool = False) -> User:
    if role not in ROLES:
        raise Unprocessable(f"role must be one of {', '.join(ROLES)}")
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").isalnum():
        raise Unprocessable("username: letters, digits, '.' and '_' only, at most 64")
    require_strong(password, user_inputs=(username,))
    if session.execute(select(User.id).where(User.username == username)).first():
        raise Conflict(f"user {username!r} already exists")
    user = User(username=username, role=role, password_hash=hash_password(password),
                must_change_password=must_change_password)
    session.add(user)
    session.flush()
    record(session, actor, "user.created", data={"username": username, "role": role})
    return user


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, username: str, name: str, *, actor: str,
                 expires_days: int = TOKEN_DAYS) -> str:
    """Return a new bearer token for the user; only its hash is kept. Every token expires: a
    forgotten one in a script or a laptop's history stops working on its own."""
    if not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise Unprocessable(f"a token must expire in 1 to {MAX_TOKEN_DAYS} days "
                            f"(default {TOKEN_DAYS}, TEXTLINE_TOKEN_DAYS)")
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}; create it first with `textline user add`")
    if not user.active:
        raise Conflict(f"user {username!r} is disabled; `textline user enable` it first")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=expires_days)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=hash_token(token),
                         expires_at=expires))
    session.flush()
    record(session, actor, "token.created",
           data={"username": username, "name": name, "expires_at": expires.isoformat()})
    return token


# How stale a token's last_used_at may get: one write an hour per token in use, not one per
# request, and still enough for a supervisor to see which tokens nobody uses (`token list`).
TOKEN_TOUCH_EVERY = timedelta(hours=1)


def resolve_token(session: Session, token: str, now: datetime
                  ) -> tuple[Principal, int | None] | None:
    """The token's principal, and the token's id when its last_used_at is due a refresh."""
    row = session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    tok, user = row
    if tok.revoked_at is not None or not user.active:
        return None
    if tok.expires_at is not None and tok.expires_at <= now:
        return None
    due = tok.last_used_at is None or now - tok.last_used_at >= TOKEN_TOUCH_EVERY
    return Principal(user.id, user.username, user.role, "token"), tok.id if due else None


def principal_for_token(session: Session, token: str, now: datetime) -> Principal | None:
    found = resolve_token(session, token, now)
    return None if found is None else found[0]


def token_used(session: Session, token_id: int, now: datetime) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
