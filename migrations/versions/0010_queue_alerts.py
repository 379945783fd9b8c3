"""case_alerts, and cases.assigned_at: supervisors told of an unclaimed P1 or a stale claim;
an index on messages for the queue's sort by wait.

Existing claims get no assigned_at: the alert timer then counts from the case's last operator
text or, failing that, its opening, so an old claim nobody has answered is flagged at once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "case_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_alerts_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_alerts")),
        sa.UniqueConstraint("case_id", "reason", name="uq_case_alerts_case_reason"),
    )
    with op.batch_alter_table("case_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_case_alerts_cleared", ["cleared_at", "case_id"], unique=False)
    # The queue's sort by wait reads each open case's texts by direction and time.
    op.create_index("ix_messages_case_direction_created", "messages",
                    ["case_id", "direction", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_case_direction_created", table_name="messages")
    with op.batch_alter_table("case_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_case_alerts_cleared")
    op.drop_table("case_alerts")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("assigned_at")
