"""case_decisions: every decision a case has had, not only the one in force.

Existing cases get their history from the audit log's decision events (the dispatcher's
"decision.made", a person's "decision.override"), whose reasons never held the texter's words;
the last of them is replaced by the case row's own decision, which has its reasons in full. A
case whose events do not end in its current decision (a row edited by hand) gets that decision
appended, so every case with a decision has at least that one.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BATCH = 1000  # cases per read, so a large database is never held in memory at once
DECISIONS = ("999", "101")
PRIORITIES = ("P1", "P2", "P3")

_cases = sa.table(
    "cases", sa.column("id", sa.Integer), sa.column("decision", sa.String),
    sa.column("queue", sa.String), sa.column("priority", sa.String),
    sa.column("decision_by", sa.String), sa.column("decision_rule", sa.String),
    sa.column("decision_reasons", JSON), sa.column("decision_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_events = sa.table(
    "audit_events", sa.column("seq", sa.Integer), sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String), sa.column("action", sa.String),
    sa.column("case_id", sa.Integer), sa.column("data", JSON),
)


def upgrade() -> None:
    table = op.create_table(
        "case_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("reasons", JSON, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_decisions_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_decisions")),
    )
    with op.batch_alter_table("case_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_decisions_case_id"), ["case_id"], unique=False)
    _backfill(op.get_bind(), table)


def downgrade() -> None:
    with op.batch_alter_table("case_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_decisions_case_id"))
    op.drop_table("case_decisions")


def _backfill(bind: sa.Connection, table: sa.Table) -> None:
    last = 0
    while True:
        cases = bind.execute(
            sa.select(_cases).where(_cases.c.id > last, _cases.c.decision.is_not(None))
            .order_by(_cases.c.id).limit(BATCH)
        ).mappings().all()
        if not cases:
            return
        last = cases[-1]["id"]
        history: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for event in bind.execute(
            sa.select(_events).where(
                _events.c.case_id.in_([c["id"] for c in cases]),
                _events.c.action.in_(("decision.made", "decision.override")))
            .order_by(_events.c.seq)
        ).mappings():
            row = _from_event(event)
            if row is not None:
                history[event["case_id"]].append(row)
        rows = []
        for case in cases:
            rows.extend(_with_current(history[case["id"]], case))
        if rows:
            bind.execute(sa.insert(table), rows)


def _from_event(event: Any) -> dict[str, Any] | None:
    data = event["data"] if isinstance(event["data"], dict) else {}
    if event["action"] == "decision.override":
        new = data.get("new") if isinstance(data.get("new"), dict) else {}
        values = {"by": f"operator:{event['actor']}", "rule": "override",
                  "reasons": [data["reason"]] if isinstance(data.get("reason"), str) else []}
    else:
        new = data
        reasons = data.get("reasons")
        values = {"by": event["actor"], "rule": data.get("rule"),
                  "reasons": [r for r in reasons if isinstance(r, str)]
                  if isinstance(reasons, list) else []}
    decision, queue, priority = new.get("decision"), new.get("queue"), new.get("priority")
    if decision not in DECISIONS or priority not in PRIORITIES or not isinstance(queue, str):
        return None  # an event this revision cannot read is left out rather than guessed at
    rule = values["rule"] if isinstance(values["rule"], str) else None
    return {"case_id": event["case_id"], "at": event["at"], "by": values["by"][:80],
            "decision": decision, "queue": queue[:32], "priority": priority,
            "rule": rule[:64] if rule else None, "reasons": values["reasons"]}


def _with_current(rows: list[dict[str, Any]], case: Any) -> list[dict[str, Any]]:
    current = {"case_id": case["id"], "at": case["decision_at"] or case["updated_at"],
               "by": case["decision_by"] or "dispatcher", "decision": case["decision"],
               "queue": case["queue"] or "", "priority": case["priority"] or "",
               "rule": case["decision_rule"],
               "reasons": list(case["decision_reasons"] or [])}
    key = ("by", "decision", "queue", "priority")
    if rows and all(rows[-1][k] == current[k] for k in key):
        return [*rows[:-1], current]
    return [*rows, current]
