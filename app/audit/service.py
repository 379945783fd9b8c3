"""The append-only audit log: every action by a person or the system, hash-chained.

Each event stores the SHA-256 of its canonical form, which includes the previous event's hash,
so altering, removing or inserting an event breaks the chain from that point on. Appends take a
lock on the single head row, so concurrent transactions extend the chain one after another.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.kit.db import utcnow
from app.kit.metrics import AUDIT_APPENDS, AUDIT_CHAIN_BROKEN, AUDIT_CHAIN_CHECKED
from app.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def canonical(
    seq: int, at: datetime, actor: str, action: str, case_id: int | None,
    data: dict[str, Any], prev_hash: str,
) -> bytes:
    doc = {
        "seq": seq, "at": at.isoformat(), "actor": actor, "action": action,
        "case_id": case_id, "data": data, "prev": prev_hash,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record(
    session: Session, actor: str, action: str, *, case_id: int | None = None,
    data: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one event in the caller's transaction: chained and written when it commits.

    `data` may be a function, called at commit once the transaction's rows are flushed: an
    event naming a row's id need not flush that row on its own (one flush a text, not four).

    The chain's head is one row that every writer must lock, so it is locked as late as it can
    be: at commit, for one short statement batch, not from the transaction's first event on.
    On PostgreSQL with several processes that lock is what serialises webhooks; holding it
    through a whole conversation step made two workers slower than one (bench/README.md).
    The event waits as a plain tuple, not an ORM object: it is only ever written, by one INSERT
    for the whole transaction.
    """
    tx = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append(
        (tx, at or utcnow(), actor, action, case_id, data if callable(data) else as_stored(data)))


def as_stored(data: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of the data exactly as the JSON column will return it (what the hash is taken
    over): copied directly when it is plain JSON already (most events), else a round trip
    through JSON."""
    if data is None:
        return {}
    copied = _plain_copy(data)
    return copied if copied is not _NOT_PLAIN else json.loads(json.dumps(data, default=str))


_NOT_PLAIN = object()
_SCALARS = (str, int, bool, type(None))


def _plain_copy(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float:
        return value if value == value and abs(value) != float("inf") else _NOT_PLAIN
    if kind is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str or (v := _plain_copy(v)) is _NOT_PLAIN:
                return _NOT_PLAIN
            out[k] = v
        return out
    if kind is list:
        items = [_plain_copy(v) for v in value]
        return _NOT_PLAIN if any(v is _NOT_PLAIN for v in items) else items
    return _NOT_PLAIN


_PENDING = "audit_pending"  # (transaction, at, actor, action, case_id, data) of each event
_INSERT_EVENTS = insert(AuditEvent.__table__)
_APPENDED = "audit_appended"  # chained in this transaction, counted once it commits


def append_pending(session: Session) -> int:
    """Lock the head, chain the transaction's recorded events onto it, add them; how many."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return 0
    session.flush()  # the rest of the transaction's writes first, outside the head's lock
    # Plain statements from here to the commit: the lock is held for as little Python as can be.
    seq, prev = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    ).one()
    rows = []
    for _tx, at, actor, action, case_id, data in pending:
        if callable(data):
            data = as_stored(data())
        seq += 1
        digest = hashlib.sha256(canonical(seq, at, actor, action, case_id, data, prev)).hexdigest()
        rows.append({"seq": seq, "at": at, "actor": actor, "action": action, "case_id": case_id,
                     "data": data, "prev_hash": prev, "hash": digest})
        prev = digest
    # One executemany, not an ORM insert a row: nothing needs the new rows' ids back.
    session.execute(_INSERT_EVENTS, rows)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))
    session.info[_APPENDED] = session.info.get(_APPENDED, 0) + len(rows)
    return len(pending)


def _within(tx: Any, ancestor: Any) -> bool:
    while tx is not None:
        if tx is ancestor:
            return True
        tx = tx.parent
    return False


# Registered on every Session, where record() is defined: whichever sessionmaker made the
# session, an event recorded in it is chained at its commit and dropped with its rollback.
@sa_event.listens_for(Session, "before_commit")
def _chain_at_commit(session: Session) -> None:
    if not session.in_nested_transaction():
        append_pending(session)


@sa_event.listens_for(Session, "after_commit")
def _count_appended(session: Session) -> None:
    appended = session.info.pop(_APPENDED, 0)
    if appended:
        AUDIT_APPENDS.inc(appended)


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_APPENDED, None)
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [event for event in pending
                                  if not _within(event[0], previous_transaction)]


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class Verification:
    ok: bool
    events: int
    first_bad: int | None  # the seq of the first event that fails, or where one is missing
    problem: str | None = None


def verify(session: Session, batch: int = 5000) -> Verification:
    """Walk the chain in order; report the first event that is altered, missing or inserted."""
    prev_hash, expected_seq, count, last_id = GENESIS, 1, 0, 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for ev in rows:
            count += 1
            last_id = ev.id
            if ev.seq != expected_seq:
                problem = "missing event" if ev.seq > expected_seq else "event out of sequence"
                return Verification(False, count, expected_seq, problem)
            if ev.prev_hash != prev_hash:
                return Verification(False, count, ev.seq, "does not follow the previous event")
            digest = hashlib.sha256(
                canonical(ev.seq, ev.at, ev.actor, ev.action, ev.case_id, ev.data, ev.prev_hash)
            ).hexdigest()
            if digest != ev.hash:
                return Verification(False, count, ev.seq, "contents altered")
            prev_hash, expected_seq = ev.hash, expected_seq + 1
        session.expunge_all()
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
    last_seq = expected_seq - 1
    if head.seq < last_seq:
        # Well-formed events past the head: written round record(), which moves the head.
        return Verification(False, count, head.seq + 1, "event inserted after the head")
    if head.seq > last_seq:
        return Verification(False, count, expected_seq, "last events removed")
    if head.hash != prev_hash:
        return Verification(False, count, last_seq, "does not match the head")
    return Verification(True, count, None)


def check_chain(sessions: Any) -> Verification:
    """Verify the whole chain and publish the result (textline_audit_chain_broken), for an
    alert that does not wait for someone to run `textline audit verify`."""
    with sessions() as session:
        result = verify(session)
        session.rollback()
    AUDIT_CHAIN_BROKEN.set(0 if result.ok else 1)
    AUDIT_CHAIN_CHECKED.set_to_current_time()
    return result
