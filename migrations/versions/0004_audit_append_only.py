"""The audit log refuses UPDATE and DELETE at the database, on PostgreSQL and SQLite; and
cases.created_at and messages.created_at are indexed for the supervisor's figures and exports.

The application has no path that changes or removes an audit event; these triggers make a stray
statement (a console session, a buggy script) fail loudly too. They do not stop a database
superuser, who can disable triggers (PostgreSQL: ALTER TABLE ... DISABLE TRIGGER, or
session_replication_role = replica; SQLite: DROP TRIGGER): the hash chain is what detects that,
and `textline audit verify` names the first event touched. TRUNCATE fires no row trigger, so test
fixtures that empty every table keep working. On SQLite, a later batch migration that rebuilds
audit_events (copy, drop, rename) drops these triggers with the old table: recreate them there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MESSAGE = "audit_events is append-only"


def upgrade() -> None:
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.create_index("ix_messages_created_at", "messages", ["created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
            END
            $$ LANGUAGE plpgsql
        """)
        op.execute("""
            CREATE TRIGGER audit_events_no_update_delete
            BEFORE UPDATE OR DELETE ON audit_events
            FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
        """)
    else:
        for what in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER audit_events_no_{what.lower()}
                BEFORE {what} ON audit_events
                BEGIN SELECT RAISE(ABORT, '{MESSAGE}: {what} refused'); END
            """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update_delete ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    op.drop_index("ix_messages_created_at", table_name="messages")
    op.drop_index("ix_cases_created_at", table_name="cases")
