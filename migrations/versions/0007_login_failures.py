"""Sign-in waits per (address, username) instead of account lockouts; every API token expires.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The default lifetime of a token (TEXTLINE_TOKEN_DAYS) when this revision was written: a token
# made when tokens could live for ever gets that long from the upgrade, not from its making, so
# that no integration stops the moment the server is upgraded.
TOKEN_DAYS = 90


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_login_failures_user_id_users")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_last_failed_at"), ["last_failed_at"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_user_id"), ["user_id"], unique=False)
    expires = datetime.now(UTC) + timedelta(days=TOKEN_DAYS)
    if op.get_bind().dialect.name == "sqlite":  # stored as naive UTC there, as the app does
        expires = expires.replace(tzinfo=None)
    tokens = sa.table("api_tokens", sa.column("expires_at", sa.DateTime(timezone=True)))
    op.execute(tokens.update().where(tokens.c.expires_at.is_(None)).values(expires_at=expires))


def downgrade() -> None:
    # Expiry dates given to old tokens stay: a token that expires is the safer side to err on.
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_user_id"))
        batch_op.drop_index(batch_op.f("ix_login_failures_last_failed_at"))
    op.drop_table("login_failures")
