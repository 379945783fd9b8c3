"""Reading several texts in one transaction: order per texter, one text's failure its own, and a
crash in the middle of a batch loses nothing and reads nothing twice."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

import app.inbox.reader as reader
from app.audit.service import verify
from app.inbox.reader import process_due, process_pending
from app.kit.db import utcnow
from app.models import AuditEvent, Case, Inbox, Message, Reporter
from tests.helpers import text_in
from tests.sms.test_concurrency import fire_in_threads

PHONES = ["+447700900701", "+447700900702", "+447700900703"]


@pytest.fixture(autouse=True)
def _unhurried(monkeypatch):  # type: ignore[no-untyped-def]
    # However slow the machine, a batch takes every text it claimed.
    monkeypatch.setattr(reader, "BATCH_SECONDS", 60.0)


def interleaved(client, rounds: int = 3) -> list[str]:  # type: ignore[no-untyped-def]
    """`rounds` texts from each of PHONES, taken turn about; their bodies in arrival order."""
    bodies = []
    for n in range(rounds):
        for i, phone in enumerate(PHONES):
            body = f"text {n} from {i}: someone is shouting at leeds station"
            assert text_in(client, body, phone, read=False).status_code == 200
            bodies.append(body)
    return bodies


def inbound_by_phone(app) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        rows = s.execute(select(Reporter.phone, Message.body)
                         .join(Case, Case.reporter_id == Reporter.id)
                         .join(Message, Message.case_id == Case.id)
                         .where(Message.direction == "inbound").order_by(Message.id)).all()
    found: dict[str, list[str]] = {}
    for phone, body in rows:
        found.setdefault(phone, []).append(body)
    return found


def expected_by_phone(bodies: list[str]) -> dict[str, list[str]]:
    return {phone: [b for b in bodies if f"from {i}:" in b] for i, phone in enumerate(PHONES)}


def count(app, *where) -> int:  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        return s.execute(select(func.count()).select_from(where[0]).where(*where[1:])).scalar_one()


def test_each_transaction_reads_the_first_waiting_text_of_every_texter(app, client):
    bodies = interleaved(client)
    batches = []
    while (done := process_due(app.state.runtime)) is not None:
        assert not any(d.skipped for d in done)
        batches.append([d.sid for d in done])
    assert [len(b) for b in batches] == [3, 3, 3]  # three texters, three texts each
    assert count(app, Inbox) == 0
    assert inbound_by_phone(app) == expected_by_phone(bodies)
    assert count(app, Case) == 3
    with app.state.sessions() as s:
        assert verify(s).ok


def test_a_text_waits_while_an_earlier_one_of_its_number_waits(app, client):
    bodies = interleaved(client, rounds=2)
    rt = app.state.runtime
    later = utcnow() + timedelta(minutes=5)
    with rt.sessions.begin() as s:  # the first phone's first text failed once: due in 5 minutes
        first = s.execute(select(Inbox.id).where(Inbox.phone == PHONES[0])
                          .order_by(Inbox.id)).scalars().first()
        s.execute(update(Inbox).where(Inbox.id == first).values(next_attempt_at=later))
    assert process_pending(rt) == 4  # every text but that phone's two
    assert count(app, Inbox) == 2
    assert inbound_by_phone(app).get(PHONES[0]) is None
    done = process_due(rt, now=later + timedelta(seconds=1))
    assert done is not None and [d.skipped for d in done] == [False]
    done = process_due(rt, now=later + timedelta(seconds=1))
    assert done is not None and [d.skipped for d in done] == [False]
    assert inbound_by_phone(app) == expected_by_phone(bodies)


def test_a_text_the_conversation_fails_on_is_stored_and_the_rest_of_its_batch_read(
        app, client, monkeypatch):
    rt = app.state.runtime
    real = rt.intake.on_inbound

    def fails_on_boom(session, case, reporter, message, *args, **kwargs):  # type: ignore[no-untyped-def]
        if "BOOM" in message.body:
            raise RuntimeError("a bug in the conversation")
        return real(session, case, reporter, message, *args, **kwargs)

    monkeypatch.setattr(rt.intake, "on_inbound", fails_on_boom)
    text_in(client, "man with a knife at leeds station", PHONES[0], read=False)
    text_in(client, "BOOM at york station", PHONES[1], read=False)
    text_in(client, "a girl is being followed at euston", PHONES[2], read=False)
    text_in(client, "he is about 30", PHONES[1], read=False)
    done = process_due(rt)
    assert done is not None and len(done) == 3 and not any(d.skipped for d in done)
    assert process_pending(rt) == 1  # the failing texter's next text, read as usual
    assert count(app, Inbox) == 0
    by_phone = inbound_by_phone(app)
    assert by_phone[PHONES[1]] == ["BOOM at york station", "he is about 30"]
    with app.state.sessions() as s:
        failed = s.execute(select(AuditEvent.case_id).where(AuditEvent.action == "intake.failed")
                           ).scalars().all()
        boom_case = s.execute(select(Message.case_id).where(Message.body.like("BOOM%"))
                              ).scalar_one()
        replied = set(s.execute(select(Reporter.phone).join(Case, Case.reporter_id == Reporter.id)
                                .join(Message, Message.case_id == Case.id)
                                .where(Message.author == "bot")).scalars())
        assert verify(s).ok
    assert failed == [boom_case]  # audited once, on its own case
    assert {PHONES[0], PHONES[2]} <= replied  # the others were answered as usual


def test_a_database_error_on_one_text_keeps_it_and_its_numbers_later_texts(
        app, client, monkeypatch):
    rt = app.state.runtime
    real = rt.intake.on_inbound

    def away_on_first(session, case, reporter, message, *args, **kwargs):  # type: ignore[no-untyped-def]
        if message.body == "first":
            raise OperationalError("UPDATE cases", {}, Exception("deadlock detected"))
        return real(session, case, reporter, message, *args, **kwargs)

    monkeypatch.setattr(rt.intake, "on_inbound", away_on_first)
    text_in(client, "first", PHONES[0], read=False)
    text_in(client, "someone shouting at york", PHONES[1], read=False)
    text_in(client, "second", PHONES[0], read=False)
    done = process_due(rt)
    assert done is not None and [d.skipped for d in done] == [True, False]
    assert process_pending(rt) == 0  # "second" waits for "first"
    with app.state.sessions() as s:
        waiting = s.execute(select(Inbox).order_by(Inbox.id)).scalars().all()
    assert [(r.body, r.attempts) for r in waiting] == [("first", 1), ("second", 0)]
    assert "deadlock detected" in (waiting[0].last_error or "")
    assert count(app, Message, Message.body.in_(["first", "second"])) == 0  # nothing half-stored
    assert inbound_by_phone(app) == {PHONES[1]: ["someone shouting at york"]}


CRASHING_READER = """
import json, os, sys
from app.startup.bootstrap import build_runtime
from app.inbox import reader
from app.kit.config import Settings

rt = build_runtime(Settings(**json.loads(sys.argv[1])))
reader.BATCH_SECONDS = 60.0
real, calls = rt.intake.on_inbound, []

def dies_on_the_third(*args, **kwargs):
    calls.append(1)
    if len(calls) == 3:
        os._exit(9)  # the process dies mid-batch: no rollback, no cleanup, as under SIGKILL
    return real(*args, **kwargs)

rt.intake.on_inbound = dies_on_the_third
reader.process_due(rt)
sys.exit(0)  # not reached
"""


def dead_transaction_gone(app, within: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL the server rolls a killed client's transaction back once it notices the
    connection closed, a moment after the process is gone: until then its claimed rows stay
    locked and a reader skips them (SKIP LOCKED). Wait for the locks, not a fixed time."""
    with app.state.sessions() as session:
        if session.get_bind().dialect.name != "postgresql":
            return
    deadline = time.monotonic() + within
    while True:
        with app.state.sessions() as session:
            free = len(session.execute(select(Inbox.id).with_for_update(skip_locked=True)).all())
            session.rollback()
        if free == count(app, Inbox) or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def test_a_crash_mid_batch_leaves_every_text_to_be_read_again(app, client, settings_kwargs):
    bodies = interleaved(client)
    crashed = subprocess.run([sys.executable, "-c", CRASHING_READER,
                              json.dumps(settings_kwargs, default=str)], capture_output=True, timeout=120)
    assert crashed.returncode == 9, crashed.stderr.decode()[-2000:]
    assert count(app, Inbox) == 9  # the two texts read before the crash were never committed
    assert count(app, Message) == 0
    assert count(app, AuditEvent) == 0
    dead_transaction_gone(app)
    assert process_pending(app.state.runtime) == 9
    assert inbound_by_phone(app) == expected_by_phone(bodies)  # each once, in order
    with app.state.sessions() as s:
        assert verify(s).ok


def test_processors_reading_batches_side_by_side_keep_each_texters_order(
        app, client, monkeypatch):
    monkeypatch.setattr(reader, "BATCH", 4)  # many small batches, so that they interleave
    bodies = interleaved(client, rounds=6)
    counts: list[int] = []
    fire_in_threads(4, lambda: counts.append(process_pending(app.state.runtime)))
    read = sum(counts) + process_pending(app.state.runtime)
    assert read == len(bodies)
    assert count(app, Inbox) == 0
    assert inbound_by_phone(app) == expected_by_phone(bodies)
    assert count(app, Case) == len(PHONES)
    with app.state.sessions() as s:
        assert verify(s).ok
