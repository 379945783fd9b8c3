"""What the case page shows of incidents: the incident the case is one report of, and the
reports it may be the same as ("maybe the same as TL-..."), each with a form to link it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Case, Incident, IncidentProposal


def incident_context(session: Session, case_id: int) -> dict[str, Any]:
    case = session.get(Case, case_id)
    incident, reports = None, 0
    if case is not None and case.incident_id is not None:
        incident = session.get(Incident, case.incident_id)
        reports = session.execute(select(func.count(Case.id))
                                  .where(Case.incident_id == case.incident_id)).scalar() or 0
    proposals = []
    if case is not None:
        rows = session.execute(
            select(IncidentProposal, Case.reference, Case.incident_id)
            .join(Case, Case.id == IncidentProposal.other_case_id)
            .where(IncidentProposal.case_id == case_id, IncidentProposal.state == "open")
            .order_by(IncidentProposal.id)).all()
        proposals = [{"id": p.id, "other_id": p.other_case_id, "other": ref, "rule": p.rule,
                      "evidence": p.evidence or {}} for p, ref, other_incident in rows
                     if case.incident_id is None or other_incident != case.incident_id]
    return {"incident": incident, "incident_reports": reports, "proposals": proposals}
