"""Sign-in limits: a rising wait per (address, username) pair, and a bound on password hashes
in flight.

The wait is counted per pair, never per account or per address alone. A stranger elsewhere
cannot hold an account shut (the old lockout did, with a request an hour), and one mistyped
password on a control room's shared address slows nobody else there. Attempts inside the wait
are refused at once, without hashing and without counting. The pairs live in the database, so
every server process and `textline user unlock` see the same ones.

Guessing one account's password from many addresses is not slowed by the wait; it is bounded by
the hash slots (a few tries a second per process, shared with everyone else trying) and answered
by the password strength rules (app/auth/passwords.py). docs/security.md says more.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.models import LoginFailure

# This many failures in a row are free; each one after doubles the wait, from one second up to
# MAX_WAIT. A pair is forgotten FORGET_AFTER its last failure, or at its first success.
FREE_FAILURES = 3
MAX_WAIT = timedelta(minutes=5)
FORGET_AFTER = timedelta(minutes=15)


def pair_key(secret: str, address: str, username: str) -> str:
    """The pair's row key: a MAC, so that a password typed as a username is not stored."""
    return hmac.new(secret.encode(), f"signin\x00{address}\x00{username}".encode(),
                    hashlib.sha256).hexdigest()


def wait_after(failures: int) -> timedelta:
    if failures <= FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - FREE_FAILURES - 1, 20)), MAX_WAIT)


def seconds_to_wait(session: Session, key: str, now: datetime) -> int:
    """Whole seconds before this pair may try again; 0 when it may try now."""
    row = session.get(LoginFailure, key)
    if row is None or now - row.last_failed_at >= FORGET_AFTER:
        return 0
    left = row.last_failed_at + wait_after(row.failures) - now
    return max(0, int(left.total_seconds() + 0.999))


def failed(session: Session, key: str, user_id: int | None, now: datetime) -> int:
    """Count a failure against the pair; returns its failures in a row."""
    row = session.get(LoginFailure, key, with_for_update={"key_share": True})
    if row is not None and now - row.last_failed_at >= FORGET_AFTER:
        row.failures = 0
    if row is None:
        # Two first failures of one pair may race: insert-or-add rather than fail on the key.
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(LoginFailure).values(key=key, user_id=user_id, failures=1,
                                           last_failed_at=now)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[LoginFailure.key],
            set_={"failures": LoginFailure.failures + 1, "last_failed_at": now}))
        count = 1
    else:
        row.failures += 1
        row.last_failed_at = now
        count = row.failures
    if random.random() < 1 / 64:  # now and then, not on every failure: forgotten pairs go
        session.execute(delete(LoginFailure).where(
            LoginFailure.last_failed_at < now - FORGET_AFTER))
    session.flush()
    return count


def succeeded(session: Session, key: str) -> None:
    """A good sign-in forgets its own pair, and only that one."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == key))


def clear_user(session: Session, user_id: int) -> int:
    """Forget every pair naming this user (a supervisor's unlock); returns how many."""
    return session.execute(delete(LoginFailure).where(LoginFailure.user_id == user_id)
                           ).rowcount or 0  # type: ignore[attr-defined]


def waiting_pairs(session: Session, now: datetime) -> dict[int, int]:
    """For each user held back somewhere, the number of pairs that make them wait now."""
    counts: dict[int, int] = {}
    rows = session.execute(select(LoginFailure).where(
        LoginFailure.user_id.is_not(None), LoginFailure.last_failed_at > now - FORGET_AFTER))
    for row in rows.scalars():
        if row.last_failed_at + wait_after(row.failures) > now and row.user_id is not None:
            counts[row.user_id] = counts.get(row.user_id, 0) + 1
    return counts


# Argon2 takes about a tenth of a second of one core. More hashes at once than the machine has
# cores to spare would take the processor from everything else, the webhook first.
HASH_SLOTS = max(1, (os.cpu_count() or 2) // 2)


class HashSlots:
    """Password checks in flight in this process; a sign-in that finds none free is refused at
    once (429) rather than queued, so a flood costs the server nothing past the bound.

    Taken and given back on the event loop only, so a plain counter is enough."""

    def __init__(self, slots: int = HASH_SLOTS) -> None:
        self.free = slots

    def take(self) -> bool:
        if self.free <= 0:
            return False
        self.free -= 1
        return True

    def give_back(self) -> None:
        self.free += 1
