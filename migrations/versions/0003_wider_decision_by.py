"""Widen cases.decision_by to hold "operator:" and a 64-character username.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.alter_column("decision_by", existing_type=sa.String(length=64),
                              type_=sa.String(length=80), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.alter_column("decision_by", existing_type=sa.String(length=80),
                              type_=sa.String(length=64), existing_nullable=True)
