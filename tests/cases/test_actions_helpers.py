"""Builders shared by the case action tests (no tests here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.kit.db import unit_of_work
from app.models import AuditEvent, Case, Reporter
from tests.helpers import text_in

PHONE = "+447700900123"


def open_case(client: Any, app: Any, body: str = "two men bothering a girl at leeds",
              phone: str = PHONE) -> int:
    assert text_in(client, body, phone).status_code == 200
    with app.state.sessions() as s:
        return s.execute(
            select(Case.id).join(Reporter, Reporter.id == Case.reporter_id)
            .where(Reporter.phone == phone, Case.status == "open")
        ).scalar_one()


def load_case(app: Any, case_id: int) -> Case:
    with app.state.sessions() as s:
        return s.execute(select(Case).where(Case.id == case_id)).scalar_one()


def update_case(app: Any, case_id: int, **values: Any) -> None:
    with unit_of_work(app.state.sessions) as s:
        case = s.execute(select(Case).where(Case.id == case_id)).scalar_one()
        for name, value in values.items():
            setattr(case, name, value)


def audits(app: Any, action: str) -> list[AuditEvent]:
    with app.state.sessions() as s:
        return list(s.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        ).scalars())
