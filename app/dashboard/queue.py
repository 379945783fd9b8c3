"""The live queue: which cases an operator sees, in which order.

P1 first, then whoever has waited longest. A case is waiting from the reporter's first text
that no operator has answered yet; a case whose last word came from an operator is not
waiting and goes below those that are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, null, or_, select
from sqlalchemy.orm import Session, aliased

from app.models import Case, Message, Reporter, User

STATUSES = {
    "open": "Open (all stages)",
    "collecting": "Bot asking",
    "awaiting_operator": "Awaiting operator",
    "with_operator": "With operator",
    "closed": "Closed",
}
NO_QUEUE = "-"  # the filter value for cases the dispatcher has not yet decided
OPEN_LIMIT = 500
CLOSED_LIMIT = 100


@dataclass(frozen=True)
class QueueRow:
    id: int
    reference: str
    priority: str | None
    decision: str | None
    queue: str | None
    station: str | None
    location_text: str | None
    age: str | None
    child: bool | None
    immediacy: str | None
    stage: str
    status: str
    discreet: bool
    opted_out: bool
    created_at: datetime
    updated_at: datetime
    waiting_since: datetime | None
    assigned_to: str | None
    language: str | None = None  # the conversation's, BCP 47

    @property
    def sort_key(self) -> tuple[Any, ...]:
        waiting = self.waiting_since or self.updated_at
        return (self.priority != "P1", self.waiting_since is None, waiting, self.id)


def _age_label(age: dict[str, Any] | None) -> tuple[str | None, bool | None]:
    if not age:
        return None, None
    lo, hi = age.get("min"), age.get("max")
    if lo is not None and hi is not None:
        label = str(lo) if lo == hi else f"{lo}-{hi}"
    elif lo is not None:
        label = f"{lo}+"
    elif hi is not None:
        label = f"under {hi + 1}"
    else:
        label = age.get("text") or "?"
    return label, age.get("child")


def _row(case: Case, reporter: Reporter, username: str | None,
         waiting_since: datetime | None) -> QueueRow:
    facts = case.facts or {}
    loc = facts.get("location") or {}
    station = (loc.get("station") or {}).get("name")
    if station and loc.get("platform"):
        station = f"{station}, platform {loc['platform']}"
    age, child = _age_label(facts.get("age"))
    imm = facts.get("immediacy") or {}
    return QueueRow(
        id=case.id, reference=case.reference or f"#{case.id}", priority=case.priority,
        decision=case.decision, queue=case.queue, station=station,
        location_text=loc.get("text"), age=age, child=child, immediacy=imm.get("value"),
        stage=case.stage, status=case.status, discreet=case.discreet,
        opted_out=reporter.opted_out, created_at=case.created_at, updated_at=case.updated_at,
        waiting_since=waiting_since if case.status == "open" else None, assigned_to=username,
        language=case.language,
    )


def waiting_since_column():  # type: ignore[no-untyped-def]
    """The oldest inbound text newer than the case's latest operator reply."""
    answered = aliased(Message)
    inbound = aliased(Message)
    last_answer = (
        select(func.max(answered.created_at))
        .where(answered.case_id == inbound.case_id, answered.direction == "outbound",
               answered.author.like("operator:%"))
        .scalar_subquery()
    )
    return (
        select(func.min(inbound.created_at))
        .where(inbound.case_id == Case.id, inbound.direction == "inbound",
               or_(last_answer.is_(None), inbound.created_at > last_answer))
        .scalar_subquery()
    )


def queue_rows(session: Session, *, status: str = "open", queue: str = "") -> list[QueueRow]:
    # A closed case waits for nobody (_row drops it): computing it per closed row cost 0.4 s
    # with 100,000 cases (bench/bench_queue.py).
    waiting = (null() if status == "closed" else waiting_since_column()).label("waiting_since")
    stmt = (
        select(Case, Reporter, User.username, waiting)
        .join(Reporter, Reporter.id == Case.reporter_id)
        .outerjoin(User, User.id == Case.assigned_to_id)
    )
    if status == "closed":
        stmt = stmt.where(Case.status == "closed")
    else:
        stmt = stmt.where(Case.status == "open")
        if status in ("collecting", "awaiting_operator", "with_operator"):
            stmt = stmt.where(Case.stage == status)
    if queue == NO_QUEUE:
        stmt = stmt.where(Case.queue.is_(None))
    elif queue:
        stmt = stmt.where(Case.queue == queue)
    if status == "closed":
        stmt = stmt.order_by(Case.closed_at.desc(), Case.id.desc()).limit(CLOSED_LIMIT)
    else:
        stmt = stmt.order_by(Case.updated_at.desc(), Case.id.desc()).limit(OPEN_LIMIT)
    rows = [_row(c, r, u, w) for c, r, u, w in session.execute(stmt).all()]
    if status != "closed":
        rows.sort(key=lambda row: row.sort_key)
    return rows


def queue_names(session: Session) -> list[str]:
    # The open cases' queues (an index seek), not every case's: a scan of 100,000 cases took
    # 30 ms on every queue refresh (bench/bench_queue.py).
    names = session.execute(
        select(Case.queue).where(Case.status == "open", Case.queue.is_not(None)).distinct()
    ).scalars().all()
    return sorted(set(names) | {"emergency", "general", "safeguarding"})


def open_p1(session: Session) -> list[tuple[int, str]]:
    """Every open P1, whatever the page's filters: a new one must alert every operator."""
    rows = session.execute(
        select(Case.id, Case.reference).where(Case.status == "open", Case.priority == "P1")
        .order_by(Case.id)
    ).all()
    return [(case_id, reference or f"#{case_id}") for case_id, reference in rows]
