"""What a person does to incidents: link cases or incidents, split a case off, override the
decision. Each flushes, never commits, writes its reason to the audit log, and refuses with a
4xx the client can read: a case linked to itself, a closed case older than the window, a loop.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.service import Principal
from app.incidents.scene import SPLIT_KEY
from app.incidents.service import (
    cases_of,
    join,
    link_cases,
    refresh,
    report_of,
    tell_override,
    urgency,
)
from app.kit.config import Settings
from app.kit.errors import Conflict, NotFound, Unprocessable
from app.kit.events import Kind, stage
from app.kit.validation import has_controls
from app.models import Case, Incident

MAX_REASON = 500
MAX_QUEUE = 32
OPERATOR_RULE = "operator"
PRIORITIES = {"999": ("P1",), "101": ("P2", "P3")}


def _reason(text: str, field: str = "reason", limit: int = MAX_REASON) -> str:
    value = (text or "").strip()
    if not value:
        raise Unprocessable(f"{field} must not be blank: say why")
    if len(value) > limit:
        raise Unprocessable(f"{field} is longer than {limit} characters")
    if has_controls(value):
        raise Unprocessable(f"{field} must not contain control characters")
    return value


def _lock_case(session: Session, case_id: int) -> Case:
    case = session.execute(select(Case).where(Case.id == case_id)
                           .with_for_update(key_share=True)).scalar_one_or_none()
    if case is None:
        raise NotFound(f"no such case: {case_id}")
    return case


def _incident(session: Session, incident_id: int) -> Incident:
    incident = session.execute(select(Incident).where(Incident.id == incident_id)
                               .with_for_update(key_share=True)).scalar_one_or_none()
    if incident is None:
        raise NotFound(f"no such incident: {incident_id}")
    return incident


def _linkable(case: Case, now: datetime, window: timedelta) -> None:
    if case.status == "closed" and case.closed_at is not None and case.closed_at < now - window:
        minutes = int(window.total_seconds() // 60)
        raise Conflict(f"{case.reference} was closed more than {minutes} minutes ago, longer than "
                       f"the incident window: it cannot be linked")


def _open_target(session: Session, incident: Incident, source: Incident | None) -> Incident:
    """The incident to link into; a merged one is refused, naming the loop it would make."""
    if incident.status != "merged":
        return incident
    seen, at = {incident.id}, incident
    while at.merged_into_id is not None and at.merged_into_id not in seen:
        if source is not None and at.merged_into_id == source.id:
            raise Conflict(f"linking {source.reference} into {incident.reference} would make a "
                           f"loop: {incident.reference} is already linked into {source.reference}")
        seen.add(at.merged_into_id)
        at = session.get(Incident, at.merged_into_id)  # type: ignore[assignment]
    raise Conflict(f"{incident.reference} was linked into {at.reference}: link to that one")


def link(session: Session, settings: Settings, principal: Principal, *, reason: str,
         now: datetime, case_id: int | None = None, incident_id: int | None = None,
         to_case_id: int | None = None, to_incident_id: int | None = None) -> Incident:
    """A case (or a whole incident) joins another case's incident (or an incident)."""
    if (case_id is None) == (incident_id is None):
        raise Unprocessable("give one of case_id and incident_id: what to link")
    if (to_case_id is None) == (to_incident_id is None):
        raise Unprocessable("give one of to_case_id and to_incident_id: what to link it to")
    reason = _reason(reason)
    window = timedelta(minutes=settings.incident_window_minutes)
    by = f"operator:{principal.username}"
    if case_id is not None and case_id == to_case_id:
        raise Conflict("a case cannot be linked to itself")
    if incident_id is not None and incident_id == to_incident_id:
        raise Conflict("an incident cannot be linked to itself")
    source = _incident(session, incident_id) if incident_id is not None else None
    if source is not None and source.status == "merged":
        raise Conflict(f"{source.reference} is already linked into another incident")
    target_case = _lock_case(session, to_case_id) if to_case_id is not None else None
    target = None
    if to_incident_id is not None:
        target = _open_target(session, _incident(session, to_incident_id), source)
    elif target_case is not None and target_case.incident_id is not None:
        target = _open_target(session, _incident(session, target_case.incident_id), source)
    if target_case is not None:
        _linkable(target_case, now, window)
    moving = [_lock_case(session, case_id)] if case_id is not None else \
        cases_of(session, source.id)  # type: ignore[union-attr]
    for case in moving:
        _linkable(case, now, window)
    if source is not None and target is not None and source.id == target.id:
        raise Conflict("an incident cannot be linked to itself")
    if target is not None and all(c.incident_id == target.id for c in moving):
        raise Conflict(f"already part of {target.reference}")
    if not moving:
        raise Conflict(f"{source.reference} has no cases to link")  # type: ignore[union-attr]
    if target is None:  # a case not yet in any incident: one is made for the two
        target = link_cases(session, settings, moving[0], report_of(target_case), now,  # type: ignore[arg-type]
                            by=by, rule=OPERATOR_RULE, reason=reason)
        moving = moving[1:]
    left = {c.incident_id for c in moving if c.incident_id not in (None, target.id)}
    for case in moving:
        join(session, settings, target, case, now, by=by, rule=OPERATOR_RULE, reason=reason,
             with_case=target_case)
    if source is not None:
        source.status, source.merged_into_id, source.updated_at = "merged", target.id, now
        record(session, principal.username, "incident.merged",
               data={"incident_id": source.id, "into": target.id, "reason": reason})
    for old in left:
        refresh(session, settings, session.get(Incident, old), now)
    session.flush()
    return target


def unlink(session: Session, settings: Settings, principal: Principal, incident_id: int,
           case_id: int, reason: str, *, now: datetime) -> Incident:
    """Split one case off its incident; it is never linked again without a person."""
    reason = _reason(reason)
    incident = _incident(session, incident_id)
    case = _lock_case(session, case_id)
    if case.incident_id != incident.id:
        raise Conflict(f"{case.reference} is not part of {incident.reference}")
    case.incident_id = None
    case.conversation_state = {**(case.conversation_state or {}), SPLIT_KEY: True}
    case.updated_at = now
    session.flush()
    record(session, principal.username, "incident.unlinked", case_id=case.id,
           data={"incident_id": incident.id, "incident": incident.reference, "reason": reason})
    stage(session, Kind.INCIDENT_UPDATED, case.id, incident_id=incident.id, action="unlinked")
    refresh(session, settings, incident, now)
    return incident


def override(session: Session, settings: Settings, principal: Principal, incident_id: int,
             decision: str, queue: str, reason: str, *, priority: str | None = None,
             now: datetime) -> Incident:
    """A person's decision for the whole incident; it stands until a report brings something
    more urgent than its cases held when they decided. The integration is told, as it is of
    a case joining."""
    if decision not in PRIORITIES:
        raise Unprocessable("decision must be 999 or 101")
    queue = _reason(queue, "queue", MAX_QUEUE)
    priority = priority or PRIORITIES[decision][0]
    if priority not in PRIORITIES[decision]:
        raise Unprocessable(f"a {decision} is {' or '.join(PRIORITIES[decision])}")
    reason = _reason(reason)
    incident = _incident(session, incident_id)
    if incident.status == "merged":
        raise Conflict(f"{incident.reference} was linked into another incident: decide there")
    cases = cases_of(session, incident.id)
    before = {"decision": incident.decision, "priority": incident.priority,
              "by": incident.decision_by}
    incident.decision, incident.queue, incident.priority = decision, queue, priority
    incident.decision_by, incident.decision_reasons = f"operator:{principal.username}", [reason]
    incident.decision_at = incident.updated_at = now
    incident.override_basis = max((urgency(c.decision, c.priority) for c in cases), default=0)
    session.flush()
    record(session, principal.username, "incident.decision.override",
           data={"incident_id": incident.id, "previous": before,
                 "new": {"decision": decision, "queue": queue, "priority": priority},
                 "reason": reason})
    emergency = decision == "999" and before["decision"] != "999"
    for c in cases:
        stage(session, Kind.INCIDENT_EMERGENCY if emergency else Kind.INCIDENT_UPDATED, c.id,
              incident_id=incident.id, action="decision", decision=decision)
    if cases:
        tell_override(session, settings, incident, [c.id for c in cases], before, now)
    return incident
