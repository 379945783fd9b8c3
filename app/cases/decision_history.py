"""A case's decisions over time: one row each time the decision in force changes.

Written beside the case row's decision, in the same flush, by the dispatcher and by a person's
override, so the history and the decision in force can never disagree about the latest one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, CaseDecision


def record_decision(session: Session, case: Case) -> None:
    """Keep the case's decision as it now stands (call after setting the decision columns)."""
    session.add(CaseDecision(
        case_id=case.id, at=case.decision_at or case.updated_at,
        by=case.decision_by or "dispatcher", decision=case.decision, queue=case.queue or "",
        priority=case.priority or "", rule=case.decision_rule,
        reasons=list(case.decision_reasons or ())))


def decision_history(session: Session, case_id: int) -> list[CaseDecision]:
    return list(session.execute(
        select(CaseDecision).where(CaseDecision.case_id == case_id).order_by(CaseDecision.id)
    ).scalars())
