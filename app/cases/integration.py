"""A decision change told to the CAD-style integration: one outbox row in the same transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.schemas import case_out
from app.dispatch.decide import Decision
from app.dispatch.handlers import on_decision
from app.kit.config import Settings
from app.models import Case, Reporter, User


def tell_integration(session: Session, settings: Settings, case: Case,
                     decision: Decision) -> None:
    """Queue the signed call for this decision, when an integration is configured."""
    if not settings.integration_url:
        return
    reporter = session.get(Reporter, case.reporter_id)
    username = None
    if case.assigned_to_id is not None:
        username = session.execute(
            select(User.username).where(User.id == case.assigned_to_id)).scalar_one_or_none()
    case_json = case_out(case, reporter, username).model_dump(mode="json")  # type: ignore[arg-type]
    # The CAD system takes the case over and may need to reach the texter: it gets the number
    # the Case JSON masks for people's screens (retention redacts this copy).
    case_json["reporter"].update(phone=reporter.phone, phone_masked=False)  # type: ignore[union-attr]
    on_decision(session, settings, case.id, case_json,
                {**decision.to_dict(), "by": case.decision_by,
                 "at": case.decision_at.isoformat() if case.decision_at else None})
