"""Index closed cases by closing time, for the dashboard's closed view.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""
from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_status_closed", "cases", ["status", "closed_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_cases_status_closed", table_name="cases")
