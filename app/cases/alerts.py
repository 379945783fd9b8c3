"""Nothing waits unseen: an open P1 nobody has claimed for TEXTLINE_P1_ALERT_SECONDS, and a
claimed case with no operator text for TEXTLINE_STALE_CLAIM_MINUTES, alert the supervisors.

Each is raised once per case and reason (a `case_alerts` row, unique on both): the audit event
`case.alerted`, the integration webhook where one is configured, and a live event that puts a
banner on every supervisor's page; the queue flags the case and /metrics counts the alerts.
An alert is cleared, never raised again, once its wait is over (claimed, answered, closed).
The P1's wait counts from its P1 decision (a case may start as a P3 and become a P1); a claim's
from its taking, or the last operator text since.

check_alerts(rt, now) is the whole timer: the loop calls it with the clock, tests with theirs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.kit.config import Settings
from app.kit.db import utcnow
from app.kit.events import Kind, stage
from app.kit.runtime import Runtime
from app.models import Case, CaseAlert, Message
from app.sms.outbox import enqueue_integration

log = logging.getLogger("textline.alerts")

UNCLAIMED, STALE = "unclaimed", "stale"
REASONS = (UNCLAIMED, STALE)
ACTOR = "system"
EVENT = "case.alerted"
BATCH = 200


@dataclass(frozen=True)
class Due:
    case_id: int
    reason: str
    since: datetime


def _operator_text_after(when: datetime | object):  # type: ignore[no-untyped-def]
    return exists().where(Message.case_id == Case.id, Message.direction == "outbound",
                          Message.author.like("operator:%"), Message.created_at > when)


def _not_alerted(reason: str):  # type: ignore[no-untyped-def]
    return ~exists().where(CaseAlert.case_id == Case.id, CaseAlert.reason == reason)


def due(session: Session, settings: Settings, now: datetime, batch: int = BATCH) -> list[Due]:
    """The alerts to raise now, oldest wait first."""
    p1_limit = now - timedelta(seconds=settings.p1_alert_seconds)
    p1_since = func.coalesce(Case.decision_at, Case.created_at)
    unclaimed = session.execute(
        select(Case.id, p1_since)
        .where(Case.status == "open", Case.priority == "P1", Case.assigned_to_id.is_(None),
               p1_since <= p1_limit, _not_alerted(UNCLAIMED))
        .order_by(p1_since, Case.id).limit(batch)
    ).all()
    stale_limit = now - timedelta(minutes=settings.stale_claim_minutes)
    claimed_since = func.coalesce(Case.assigned_at, Case.created_at)
    stale = session.execute(
        select(Case.id, claimed_since)
        .where(Case.status == "open", Case.assigned_to_id.is_not(None),
               claimed_since <= stale_limit, ~_operator_text_after(stale_limit),
               _not_alerted(STALE))
        .order_by(claimed_since, Case.id).limit(batch)
    ).all()
    return ([Due(i, UNCLAIMED, since) for i, since in unclaimed]
            + [Due(i, STALE, since) for i, since in stale])


def raise_alert(session: Session, settings: Settings, item: Due, now: datetime) -> bool:
    """Record, audit, tell the integration and the dashboards; False when another process got
    there first or the wait ended meanwhile."""
    case = session.execute(
        select(Case).where(Case.id == item.case_id).with_for_update(key_share=True)
    ).scalar_one_or_none()
    if case is None or case.status != "open":
        return False
    if item.reason == UNCLAIMED and (case.assigned_to_id is not None or case.priority != "P1"):
        return False
    if item.reason == STALE and case.assigned_to_id is None:
        return False
    if session.execute(select(CaseAlert.id).where(
            CaseAlert.case_id == case.id, CaseAlert.reason == item.reason)).first():
        return False
    waited = max(0, int((now - item.since).total_seconds()))
    session.add(CaseAlert(case_id=case.id, reason=item.reason, raised_at=now))
    session.flush()
    limit = (settings.p1_alert_seconds if item.reason == UNCLAIMED
             else settings.stale_claim_minutes * 60)
    detail = {"reason": item.reason, "waited_seconds": waited, "limit_seconds": limit,
              "priority": case.priority}
    record(session, ACTOR, EVENT, case_id=case.id, data=detail)
    if settings.integration_url:
        enqueue_integration(session, case.id, {
            "event": EVENT, "version": 1, "case_id": case.id, "reference": case.reference,
            "alert": {**detail, "since": item.since.isoformat(), "at": now.isoformat()}})
    stage(session, Kind.CASE_ALERTED, case.id, reason=item.reason)
    return True


def _wait_over(session: Session, settings: Settings, alert: CaseAlert, case: Case) -> bool:
    if case.status != "open":
        return True
    if alert.reason == UNCLAIMED:
        return case.assigned_to_id is not None or case.priority != "P1"
    if case.assigned_to_id is None:
        return True
    # When the alert was raised, the claim and every operator text were older than this; one
    # newer is the holder (or a new one) answering since.
    quiet_from = alert.raised_at - timedelta(minutes=settings.stale_claim_minutes)
    if case.assigned_at is not None and case.assigned_at > quiet_from:
        return True
    return session.execute(select(Message.id).where(
        Message.case_id == case.id, Message.direction == "outbound",
        Message.author.like("operator:%"), Message.created_at > quiet_from).limit(1)
    ).first() is not None


def clear_ended(session: Session, settings: Settings, now: datetime) -> list[int]:
    """Clear the alerts whose wait is over; returns their cases. Alerts still open are few."""
    ended = [alert for alert, case in session.execute(
        select(CaseAlert, Case).join(Case, Case.id == CaseAlert.case_id)
        .where(CaseAlert.cleared_at.is_(None))
    ).all() if _wait_over(session, settings, alert, case)]
    for alert in ended:
        alert.cleared_at = now
    session.flush()
    return sorted({alert.case_id for alert in ended})


def check_alerts(rt: Runtime, now: datetime | None = None) -> int:
    """One pass of the timer: clear what ended, raise what is due; returns alerts raised."""
    now = now or utcnow()
    with rt.work() as session:
        for case_id in clear_ended(session, rt.settings, now):
            stage(session, Kind.CASE_UPDATED, case_id, action="alert_cleared")
    with rt.sessions() as session:
        items = due(session, rt.settings, now)
    raised = 0
    for item in items:
        # One transaction an alert: a claim arriving meanwhile wins (the lock, then a re-check).
        with rt.work() as session:
            raised += raise_alert(session, rt.settings, item, now)
    if raised:
        log.warning("%d case alert(s) raised for supervisors", raised)
    return raised


def open_alerts(session: Session) -> list[tuple[int, str, str | None, str | None, datetime]]:
    """Alerts not yet cleared, oldest first: (case id, reason, reference, priority, raised)."""
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        select(CaseAlert.case_id, CaseAlert.reason, Case.reference, Case.priority,
               CaseAlert.raised_at)
        .join(Case, Case.id == CaseAlert.case_id)
        .where(CaseAlert.cleared_at.is_(None), Case.status == "open")
        .order_by(CaseAlert.raised_at, CaseAlert.id)
    ).all()]
