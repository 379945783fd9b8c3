"""The append-only audit log: every action by a person or the system, hash-chained.

Each event stores the SHA-256 of its canonical form, which includes the previous event's hash,
so altering, removing or inserting an event breaks the chain from that point on. Appends take a
lock on the single head row, so concurrent transactions extend the chain one after another.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
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
    data: dict[str, Any] | None = None, at: datetime | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (flushed with the caller's next flush)."""
    head = _locked_head(session)
    at = at or utcnow()
    data = json.loads(json.dumps(data or {}, default=str))  # exactly what the JSON column returns
    seq = head.seq + 1
    digest = hashlib.sha256(canonical(seq, at, actor, action, case_id, data, head.hash)).hexdigest()
    event = AuditEvent(seq=seq, at=at, actor=actor, action=action, case_id=case_id, data=data,
                       prev_hash=head.hash, hash=digest)
    session.add(event)
    head.seq, head.hash = seq, digest
    return event


def _locked_head(session: Session) -> AuditHead:
    # One text writes four or five events: the head is read and locked once per transaction,
    # not once per event, and the events go to the database together at the next flush
    # (bench/README.md, "profile"). The cache is keyed by the transaction object, so a new
    # transaction, or one rolled back, always reads the head afresh.
    tx = session.get_transaction()
    cached = session.info.get("audit_head")
    if cached is not None and tx is not None and cached[0] is tx and tx.is_active:
        return cached[1]
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()
    session.info["audit_head"] = (tx or session.get_transaction(), head)
    return head


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
