"""Reading incidents: the list, one incident with its cases, and the queue's fold of its rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.incidents.schemas import IncidentCaseOut, IncidentOut, IncidentPage
from app.kit.errors import BadRequest, NotFound
from app.models import AuditEvent, Case, Incident, Message, Reporter


def _case_out(case: Case, reporter: Reporter, linked_by: str | None) -> IncidentCaseOut:
    facts = case.facts or {}
    loc = facts.get("location") or {}
    return IncidentCaseOut(
        id=case.id, reference=case.reference or f"#{case.id}", status=case.status,  # type: ignore[arg-type]
        priority=case.priority, decision=case.decision,  # type: ignore[arg-type]
        location=loc.get("text"), risk=sorted({r["indicator"] for r in facts.get("risks") or []}),
        discreet=case.discreet, opted_out=reporter.opted_out, last_text_at=case.last_inbound_at,
        linked_by=linked_by)


def _incident_out(incident: Incident, cases: list[Case],
                  with_cases: list[IncidentCaseOut] | None = None) -> IncidentOut:
    newest = max((c.last_inbound_at for c in cases if c.last_inbound_at), default=None)
    return IncidentOut(
        id=incident.id, reference=incident.reference or f"#{incident.id}",
        status=incident.status, merged_into_id=incident.merged_into_id,  # type: ignore[arg-type]
        place=incident.place_key, decision=incident.decision,  # type: ignore[arg-type]
        queue=incident.queue, priority=incident.priority,  # type: ignore[arg-type]
        decision_by=incident.decision_by, decision_reasons=list(incident.decision_reasons or []),
        texters=len({c.reporter_id for c in cases}), newest_text_at=newest,
        created_at=incident.created_at, updated_at=incident.updated_at,
        case_ids=[c.id for c in cases], cases=with_cases)


def list_incidents(session: Session, status: str | None, limit: int,
                   cursor: str | None) -> IncidentPage:
    """Newest first, by id; the cursor is the last id of the page before."""
    stmt = select(Incident)
    if status:
        stmt = stmt.where(Incident.status == status)
    if cursor:
        if not cursor.isdigit() or len(cursor) > 10 or int(cursor) >= 2**31:
            raise BadRequest("cursor is not one this server gave out")
        stmt = stmt.where(Incident.id < int(cursor))
    incidents = list(session.execute(stmt.order_by(Incident.id.desc()).limit(limit + 1)).scalars())
    page = incidents[:limit]
    by_incident: dict[int, list[Case]] = defaultdict(list)
    if page:
        for case in session.execute(select(Case).where(
                Case.incident_id.in_([i.id for i in page])).order_by(Case.id)).scalars():
            by_incident[case.incident_id].append(case)  # type: ignore[index]
    items = [_incident_out(i, by_incident[i.id]) for i in page]
    return IncidentPage(items=items,
                        next_cursor=str(page[-1].id) if len(incidents) > limit else None)


def linked_by(session: Session, case_ids: list[int]) -> dict[int, str]:
    """Who or which rule last linked each case (the audit log keeps every link)."""
    found: dict[int, str] = {}
    if not case_ids:
        return found
    for case_id, data in session.execute(
            select(AuditEvent.case_id, AuditEvent.data)
            .where(AuditEvent.action == "incident.linked", AuditEvent.case_id.in_(case_ids))
            .order_by(AuditEvent.seq)):
        by = data.get("by") or ""
        found[case_id] = by if by.startswith("operator:") else str(data.get("rule") or by)
    return found


def get_incident(session: Session, incident_id: int) -> IncidentOut:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("no such incident")
    rows = session.execute(select(Case, Reporter).join(Reporter, Reporter.id == Case.reporter_id)
                           .where(Case.incident_id == incident_id).order_by(Case.id)).all()
    how = linked_by(session, [c.id for c, _ in rows])
    return _incident_out(incident, [c for c, _ in rows],
                         [_case_out(c, r, how.get(c.id)) for c, r in rows])


def timeline(session: Session, case_ids: list[int]) -> list[Message]:
    """Every text of these cases, in the order they came and went."""
    if not case_ids:
        return []
    return list(session.execute(select(Message).where(Message.case_id.in_(case_ids))
                                .order_by(Message.created_at, Message.id)).scalars())


def incident_figures(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """Incidents opened in [start, end) and the reports they gathered: beside the cases
    opened, how many things actually happened."""
    incidents = session.execute(select(func.count(Incident.id)).where(
        Incident.created_at >= start, Incident.created_at < end)).scalar() or 0
    reports = session.execute(select(func.count(Case.id)).join(
        Incident, Incident.id == Case.incident_id).where(
        Incident.created_at >= start, Incident.created_at < end)).scalar() or 0
    return int(incidents), int(reports)
