"""What acts on a dispatch decision beyond the dashboard: the outbound integration webhook.

Each decision change becomes one outbox row in the transaction that made it; the outbox worker
delivers it (app/sms/integration.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.kit.config import Settings
from app.sms.outbox import enqueue_integration

EVENT = "case.decision"


def integration_payload(case_json: dict[str, Any], decision: dict[str, Any]) -> dict[str, Any]:
    return {"event": EVENT, "version": 1, "case": case_json, "decision": decision}


def on_decision(session: Session, settings: Settings, case_id: int, case_json: dict[str, Any],
                decision: dict[str, Any]) -> None:
    """Queue the integration call for one decision change, when an integration is configured."""
    if not settings.integration_url:
        return
    enqueue_integration(session, case_id, integration_payload(case_json, decision))
