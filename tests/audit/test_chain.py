"""The audit chain: the database refuses changes, and verify finds every kind of tampering.

Tampering here goes round the triggers as a database superuser could (PostgreSQL:
session_replication_role = replica; SQLite: dropping the triggers), which is exactly the case
the hash chain exists for.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from app.audit.service import canonical, record, verify
from app.audit.textless import facts_summary, textless_reasons
from app.kit.db import unit_of_work
from app.models import AuditEvent
from tests.cases.test_actions_helpers import audits, load_case, open_case
from tests.helpers import text_in, token_for


def seed(app: Any, n: int = 6) -> None:
    with unit_of_work(app.state.sessions) as session:
        for i in range(n):
            record(session, "tester", "test.event", data={"i": i})


@contextmanager
def superuser(url: str) -> Iterator[Connection]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            else:
                conn.execute(text("DROP TRIGGER audit_events_no_update"))
                conn.execute(text("DROP TRIGGER audit_events_no_delete"))
            yield conn
    finally:
        engine.dispose()


def check(app: Any) -> Any:
    with app.state.sessions() as session:
        return verify(session)


def test_an_untouched_chain_verifies(app):
    seed(app)
    result = check(app)
    assert result.ok and result.events == 6 and result.first_bad is None


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_the_database_refuses_update_and_delete(app, statement):
    seed(app, 3)
    with pytest.raises(DBAPIError, match="append-only"):
        with unit_of_work(app.state.sessions) as session:
            if statement == "update":
                session.execute(update(AuditEvent).where(AuditEvent.seq == 2)
                                .values(actor="someone else"))
            else:
                session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    assert check(app).ok


def test_truncate_still_works_for_test_fixtures(app, database_url):
    """conftest empties PostgreSQL tables with TRUNCATE, which fires no row trigger."""
    seed(app, 2)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE audit_events"))
            assert conn.execute(text("select count(*) from audit_events")).scalar_one() == 0
        else:
            with pytest.raises(DBAPIError, match="append-only"):
                conn.execute(text("DELETE FROM audit_events"))
    engine.dispose()


def test_an_altered_event_is_found(app, database_url):
    seed(app)
    with superuser(database_url) as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="mallory"))
    result = check(app)
    assert (result.ok, result.first_bad, result.problem) == (False, 3, "contents altered")


def test_an_altered_event_with_its_hash_recomputed_breaks_the_next_link(app, database_url):
    seed(app)
    with app.state.sessions() as s:
        ev = s.execute(select(AuditEvent).where(AuditEvent.seq == 3)).scalar_one()
    forged = hashlib.sha256(canonical(ev.seq, ev.at, ev.actor, ev.action, ev.case_id,
                                      {"i": 99}, ev.prev_hash)).hexdigest()
    with superuser(database_url) as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 3)
                     .values(data={"i": 99}, hash=forged))
    result = check(app)
    assert (result.ok, result.first_bad) == (False, 4)


def test_a_removed_event_is_found(app, database_url):
    seed(app)
    with superuser(database_url) as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.seq == 4))
    result = check(app)
    assert (result.ok, result.first_bad, result.problem) == (False, 4, "missing event")


def test_removed_last_events_are_found(app, database_url):
    seed(app)
    with superuser(database_url) as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.seq >= 5))
    result = check(app)
    assert (result.ok, result.first_bad, result.problem) == (False, 5, "last events removed")


def test_an_event_inserted_in_the_middle_is_found(app, database_url):
    """The forger renumbers the later events to make room and writes a well-formed event."""
    seed(app)
    with app.state.sessions() as s:
        rows = s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    second = rows[1]
    at = second.at + timedelta(seconds=1)
    forged = hashlib.sha256(canonical(3, at, "mallory", "test.event", None, {},
                                      second.hash)).hexdigest()
    with superuser(database_url) as conn:
        for ev in reversed(rows[2:]):
            conn.execute(update(AuditEvent).where(AuditEvent.id == ev.id)
                         .values(seq=ev.seq + 1))
        conn.execute(AuditEvent.__table__.insert().values(
            seq=3, at=at, actor="mallory", action="test.event", case_id=None, data={},
            prev_hash=second.hash, hash=forged))
    result = check(app)
    assert (result.ok, result.first_bad) == (False, 3)


def test_an_event_appended_behind_the_heads_back_is_found(app, database_url):
    seed(app)
    with app.state.sessions() as s:
        last = s.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    at = last.at + timedelta(seconds=1)
    forged = hashlib.sha256(canonical(7, at, "mallory", "test.event", None, {},
                                      last.hash)).hexdigest()
    with superuser(database_url) as conn:
        conn.execute(AuditEvent.__table__.insert().values(
            seq=7, at=at, actor="mallory", action="test.event", case_id=None, data={},
            prev_hash=last.hash, hash=forged))
    result = check(app)
    assert (result.ok, result.first_bad) == (False, 7)


def test_verify_api_and_command_report_the_first_bad_event(app, client, database_url):
    headers = token_for(app, "supervisor", "sam")
    seed(app)
    assert client.get("/api/audit/verify", headers=headers).json()["ok"] is True
    with superuser(database_url) as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 5).values(action="nothing"))
    assert client.get("/api/audit/verify", headers=headers).json() == {
        "ok": False, "events": 5, "first_bad": 5}
    operator = token_for(app, "operator", "olly")
    assert client.get("/api/audit/verify", headers=operator).status_code == 403
    env = {"TEXTLINE_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "app", "audit", "verify"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == "audit chain broken at event 5: contents altered"


def test_the_audit_holds_no_words_of_the_texter(app, client):
    open_case(client, app, "a man with a knife at clapham jn now, lad about 14")
    [*_, facts] = audits(app, "facts.changed")
    assert "knife" not in str(facts.data) and "clapham jn" not in str(facts.data)
    assert facts.data["facts"]["risks"] == ["weapon"]
    assert facts.data["facts"]["location"]["station"] == "CLJ"
    [decision] = audits(app, "decision.made")
    assert decision.data["decision"] == "999" and "knife" not in str(decision.data)


def test_a_text_adding_no_fact_records_no_facts_changed(app, client):
    case_id = open_case(client, app, "a man with a knife at clapham jn now, lad about 14")
    assert len(audits(app, "facts.changed")) == 1
    facts = load_case(app, case_id).facts
    assert text_in(client, "ok").status_code == 200
    assert len(audits(app, "facts.changed")) == 1
    assert load_case(app, case_id).facts == facts
    assert text_in(client, "its on platform 3").status_code == 200
    [*_, changed] = audits(app, "facts.changed")
    assert len(audits(app, "facts.changed")) == 2 and changed.data["facts"]["location"]["platform"]


def test_facts_summary_and_reasons_keep_the_structure_only():
    facts = {"location": {"text": "plat 4 kings x", "platform": "4", "train": None, "coach": None,
                          "station": {"name": "London Kings Cross", "crs": "KGX", "area": None},
                          "candidates": []},
             "age": {"text": "about 14", "min": 13, "max": 15, "child": True},
             "immediacy": {"value": "now", "text": "right now"},
             "risks": [{"indicator": "weapon", "evidence": "blade"}]}
    assert facts_summary(facts) == {
        "location": {"station": "KGX", "candidates": [], "platform": True, "train": False,
                     "coach": False},
        "age": {"min": 13, "max": 15, "child": True}, "immediacy": "now", "risks": ["weapon"]}
    assert facts_summary({}) == {"risks": []}
    assert textless_reasons(["happening now", "weapon: 'blade'", "child (about 14)",
                             "at London Kings Cross (KGX)"]) == [
        "happening now", "weapon", "child", "at London Kings Cross"]


@pytest.mark.parametrize("seq", [1, 2, 3, 6])
def test_small_batches_find_the_same_event(app, database_url, seq):
    """verify() reads the chain in batches; a fault on either side of a boundary is found."""
    seed(app)
    with superuser(database_url) as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(actor="mallory"))
    with app.state.sessions() as session:
        result = verify(session, batch=2)
    assert (result.ok, result.first_bad, result.events) == (False, seq, seq)


def test_the_periodic_check_publishes_a_broken_chain(app, database_url):
    from prometheus_client import REGISTRY

    from app.audit.service import check_chain
    from app.kit.metrics import AUDIT_CHAIN_BROKEN

    seed(app)
    assert check_chain(app.state.sessions).ok
    assert REGISTRY.get_sample_value("textline_audit_chain_broken") == 0
    assert REGISTRY.get_sample_value("textline_audit_chain_checked_timestamp_seconds") > 0
    with superuser(database_url) as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="mallory"))
    try:
        assert not check_chain(app.state.sessions).ok
        assert REGISTRY.get_sample_value("textline_audit_chain_broken") == 1
    finally:
        AUDIT_CHAIN_BROKEN.set(0)  # the process's gauge: the next test's chain is intact
