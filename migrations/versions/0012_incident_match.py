"""incidents' match: cases.incident_id indexed only where it is set; a count on each place.

Almost every case is in no incident. A full index held one NULL entry a case, and SQLite's
statistics then priced a read of an incident's cases as a scan of all of them, which its
planner chose (matching a report read every case). The partial index holds only the cases
that are in an incident, and its statistics say so.

incident_places.matches is moved on by every match at the place, under its row lock, so that
on PostgreSQL one statement can lock the place and read it and still tell whether another
match committed there in between (app/incidents/service.py, locked_scene).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

WHERE = sa.text("incident_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_incident_id')
        batch_op.create_index('ix_cases_incident_id', ['incident_id'], unique=False,
                              postgresql_where=WHERE, sqlite_where=WHERE)
    with op.batch_alter_table('incident_places', schema=None) as batch_op:
        batch_op.add_column(sa.Column('matches', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('incident_places', schema=None) as batch_op:
        batch_op.drop_column('matches')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_incident_id')
        batch_op.create_index('ix_cases_incident_id', ['incident_id'], unique=False)
