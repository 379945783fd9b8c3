"""incidents: reports of the same thing linked into one incident; where each case happened.

cases.place_key is filled for cases from now on (existing cases are not matched to incidents);
incident_places holds one row per place to lock while a report is matched there.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('incident_places',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_incident_places'))
    )
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('place_key', sa.String(length=120), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('decision', sa.String(length=8), nullable=True),
    sa.Column('queue', sa.String(length=32), nullable=True),
    sa.Column('priority', sa.String(length=2), nullable=True),
    sa.Column('decision_by', sa.String(length=80), nullable=True),
    sa.Column('decision_reasons', JSON, nullable=True),
    sa.Column('decision_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('override_basis', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['incidents.id'], name=op.f('fk_incidents_merged_into_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('reference', name=op.f('uq_incidents_reference'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_place_key'), ['place_key'], unique=False)

    op.create_table('incident_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('other_case_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('evidence', JSON, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_incident_proposals_case_id_cases')),
    sa.ForeignKeyConstraint(['other_case_id'], ['cases.id'], name=op.f('fk_incident_proposals_other_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_proposals'))
    )
    with op.batch_alter_table('incident_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_proposals_case_id'), ['case_id'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incident_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('place_key', sa.String(length=120), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('ix_cases_place_last_inbound', ['place_key', 'last_inbound_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_incident_id_incidents'), 'incidents', ['incident_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_incident_id_incidents'), type_='foreignkey')
        batch_op.drop_index('ix_cases_place_last_inbound')
        batch_op.drop_index(batch_op.f('ix_cases_incident_id'))
        batch_op.drop_column('place_key')
        batch_op.drop_column('incident_id')

    with op.batch_alter_table('incident_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_proposals_case_id'))

    op.drop_table('incident_proposals')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_place_key'))
        batch_op.drop_index(batch_op.f('ix_incidents_created_at'))

    op.drop_table('incidents')
    op.drop_table('incident_places')
