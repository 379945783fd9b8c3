"""The live queue: which cases an operator sees, in which order, and what each row says.

The order is queue_order(), applied in SQL: P1 nobody has claimed (longest waiting first), then
P1 claimed, then P2 and P3 the same way, cases not yet decided last. Within each, a case waiting
for an answer comes before one whose last word came from an operator, the longest waiting
first. A case is waiting from the reporter's first text that no operator has answered yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case as when_then
from sqlalchemy import func, literal, null, or_, select
from sqlalchemy.orm import Session, aliased

from app.kit.db import UTCDateTime
from app.models import Case, CaseAlert, Message, Reporter, User

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
PREVIEW_CHARS = 80
ANSWERED = datetime(9999, 12, 31, tzinfo=UTC)  # the sort's "not waiting": after any real wait
SORT_STATED = ("Sorted: P1 not yet claimed (longest waiting first), then P1 claimed, then P2 and "
               "P3 the same way; cases not yet decided last.")
# Anything in a texter's words that looks like a phone number: the row never shows one.
_NUMBER = re.compile(r"(?<![\w+])\+?\d[\d ()-]{7,}\d(?!\w)")


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
    risks: tuple[tuple[str, str], ...] = ()  # (label, the words it came from)
    latest: str | None = None  # the newest text's first words, numbers masked
    alerts: tuple[str, ...] = ()  # open supervisor alerts: unclaimed, stale
    language: str | None = None  # the conversation's, BCP 47


def waiting_key(waiting_since: Any) -> Any:
    """When the case began waiting; a case answered sorts after every case waiting. One
    expression, selected once and sorted by its label, so the database works out each case's
    wait once, not once per sort key."""
    return func.coalesce(waiting_since, literal(ANSWERED, UTCDateTime()))


def queue_order(priority: Any, assigned_to_id: Any, waiting: Any, created_at: Any,
                case_id: Any) -> list[Any]:
    """The queue's ORDER BY: priority (P1, P2, P3, undecided), unclaimed before claimed, then
    `waiting` (waiting_key(): the longest waiting first, the answered last), then the oldest."""
    return [
        when_then((priority == "P1", 0), (priority == "P2", 1), (priority == "P3", 2), else_=3),
        when_then((assigned_to_id.is_(None), 0), else_=1),
        waiting,
        created_at,
        case_id,
    ]


def mask_numbers(text: str) -> str:
    return _NUMBER.sub("[number]", text)


def preview(text: str | None, limit: int = PREVIEW_CHARS) -> str | None:
    """The first words of a text for a table cell: one line, numbers masked, cut at a word."""
    if not text:
        return None
    flat = " ".join(mask_numbers(text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] if " " in flat[:limit] else flat[:limit]
    return cut.rstrip(" ,.;:") + "…"


def risk_labels(facts: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """One short label per risk indicator, with the words it came from (masked, joined)."""
    found: dict[str, list[str]] = {}
    for risk in facts.get("risks") or ():
        label = str(risk.get("indicator") or "").replace("_", " ")
        if label:
            words = found.setdefault(label, [])
            evidence = mask_numbers(str(risk.get("evidence") or ""))
            if evidence and evidence not in words:
                words.append(evidence)
    return tuple((label, "; ".join(f"\u201c{w}\u201d" for w in words))
                 for label, words in found.items())


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
         waiting_since: datetime | None, latest: str | None,
         alerts: tuple[str, ...]) -> QueueRow:
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
        risks=risk_labels(facts), latest=preview(latest), alerts=alerts,
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


def latest_texts(session: Session, case_ids: list[int]) -> dict[int, str]:
    """Each case's newest inbound text, read for the rows shown only (not for every open case
    the sort looks at): the newest id per case, then those messages."""
    if not case_ids:
        return {}
    newest = (select(func.max(Message.id))
              .where(Message.case_id.in_(case_ids), Message.direction == "inbound")
              .group_by(Message.case_id))
    return dict(session.execute(
        select(Message.case_id, Message.body).where(Message.id.in_(newest))).all())


def queue_rows(session: Session, *, status: str = "open", queue: str = "") -> list[QueueRow]:
    # A closed case waits for nobody (_row drops it): computing it per closed row cost 0.4 s
    # with 100,000 cases (bench/bench_queue.py).
    waiting = (null() if status == "closed"
               else waiting_key(waiting_since_column())).label("waiting_since")
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
        stmt = stmt.order_by(*queue_order(Case.priority, Case.assigned_to_id, waiting,
                                          Case.created_at, Case.id)).limit(OPEN_LIMIT)
    found = session.execute(stmt).all()
    ids = [c.id for c, *_ in found]
    alerts = open_alert_reasons(session, ids) if status != "closed" else {}
    latest = latest_texts(session, ids)
    return [_row(c, r, u, None if w == ANSWERED else w, latest.get(c.id), alerts.get(c.id, ()))
            for c, r, u, w in found]


def open_alert_reasons(session: Session, case_ids: list[int]) -> dict[int, tuple[str, ...]]:
    if not case_ids:
        return {}
    out: dict[int, tuple[str, ...]] = {}
    for case_id, reason in session.execute(
        select(CaseAlert.case_id, CaseAlert.reason)
        .where(CaseAlert.cleared_at.is_(None), CaseAlert.case_id.in_(case_ids))
        .order_by(CaseAlert.case_id, CaseAlert.reason)
    ):
        out[case_id] = (*out.get(case_id, ()), reason)
    return out


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
