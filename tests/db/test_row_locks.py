"""Row locks never block the foreign-key checks of other transactions' inserts (PostgreSQL).

A person's action locks its case; meanwhile the outbox worker, holding the audit chain's head,
inserts an audit event that references the same case. With FOR UPDATE the insert's foreign-key
check waited for the case, while the action waited for the head at its commit: a deadlock, seen
as a 500 on an operator's reply with two instances. FOR NO KEY UPDATE lets the check through.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from app.audit.service import record
from app.cases.actions import _lock_case
from app.kit.db import unit_of_work, utcnow
from tests.helpers import text_in


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_an_audit_event_for_a_locked_case_is_not_blocked(app, client):
    text_in(client, "someone acting odd at leeds station")
    rt = app.state.runtime
    holding, done = threading.Event(), threading.Event()
    outcome: list[object] = []

    def person() -> None:  # locks the case as every action does, and holds it
        with unit_of_work(rt.sessions) as session:
            _lock_case(session, 1)
            holding.set()
            done.wait(10)

    def worker() -> None:  # writes an audit event about that case, as a send does
        try:
            with unit_of_work(rt.sessions) as session:
                session.execute(text("SET LOCAL lock_timeout = '3s'"))
                record(session, "system", "message.sent", case_id=1, at=utcnow())
            outcome.append("committed")
        except Exception as exc:
            outcome.append(exc)

    holder = threading.Thread(target=person)
    holder.start()
    assert holding.wait(10)
    writer = threading.Thread(target=worker)
    writer.start()
    writer.join(10)
    done.set()
    holder.join(10)
    assert outcome == ["committed"]
