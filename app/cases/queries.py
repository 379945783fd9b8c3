"""Reading cases: filters, keyset pagination, and the Case JSON assembled without N+1 queries."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from app.cases.decision_history import decision_history
from app.cases.schemas import CaseOut, case_out
from app.kit.errors import BadRequest, NotFound
from app.models import Case, Message, Reporter, User


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None
    priority: str | None = None
    decision: str | None = None
    queue: str | None = None
    phone: str | None = None
    since: datetime | None = None


def encode_cursor(updated_at: datetime, case_id: int) -> str:
    raw = json.dumps([updated_at.isoformat(), case_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, case_id = json.loads(raw)
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None or not isinstance(case_id, int):
            raise ValueError
        return when, case_id
    except (ValueError, TypeError, json.JSONDecodeError):
        raise BadRequest("cursor is not one this server gave out") from None


def _base() -> Select:  # type: ignore[type-arg]
    return (
        select(Case, Reporter, User.username)
        .join(Reporter, Reporter.id == Case.reporter_id)
        .outerjoin(User, User.id == Case.assigned_to_id)
    )


def list_cases(session: Session, f: CaseFilter, limit: int,
               cursor: str | None) -> tuple[list[CaseOut], str | None]:
    stmt = _base()
    if f.status:
        stmt = stmt.where(Case.status == f.status)
    if f.priority:
        stmt = stmt.where(Case.priority == f.priority)
    if f.decision:
        stmt = stmt.where(Case.decision == f.decision)
    if f.queue:
        stmt = stmt.where(Case.queue == f.queue)
    if f.phone:
        stmt = stmt.where(Reporter.phone == f.phone)
    if f.since:
        stmt = stmt.where(Case.updated_at >= f.since)
    if cursor:
        when, last_id = decode_cursor(cursor)
        stmt = stmt.where(or_(Case.updated_at < when,
                              and_(Case.updated_at == when, Case.id < last_id)))
    rows = session.execute(
        stmt.order_by(Case.updated_at.desc(), Case.id.desc()).limit(limit + 1)
    ).all()
    items = [case_out(c, r, u) for c, r, u in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        next_cursor = encode_cursor(last.updated_at, last.id)
    return items, next_cursor


def get_case(session: Session, case_id: int) -> CaseOut:
    row = session.execute(_base().where(Case.id == case_id)).first()
    if row is None:
        raise NotFound("no such case")
    case, reporter, username = row
    messages = session.execute(
        select(Message).where(Message.case_id == case_id).order_by(Message.id)
    ).scalars().all()
    return case_out(case, reporter, username, list(messages), decision_history(session, case_id))
