"""enqueue_*: rows that live and die with the transaction that wrote them; backoff arithmetic."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.cases.service import find_or_open_case, lock_reporter
from app.kit.db import unit_of_work, utcnow
from app.models import Message, Outbox
from app.sms.outbox import enqueue_integration, enqueue_sms
from app.sms.worker import BACKOFF_CAP, backoff
from tests.sms.fake_twilio import make_runtime

PHONE = "+447700900123"


@pytest.fixture
def rt(settings):
    runtime = make_runtime(settings)
    yield runtime
    runtime.engine.dispose()


def new_case(session):  # type: ignore[no-untyped-def]
    now = utcnow()
    reporter = lock_reporter(session, PHONE, now)
    case, _, _ = find_or_open_case(session, reporter, now, reopen_within=timedelta(0), tz=None)
    return case


def test_enqueue_sms_marks_message_queued_with_segments(rt):
    with unit_of_work(rt.sessions) as s:
        case = new_case(s)
        msg = Message(case_id=case.id, direction="outbound", author="bot", body="x" * 161,
                      status="new")
        row = enqueue_sms(s, msg, PHONE)  # adds and flushes the message itself
        ids = (msg.id, row.id)
    with rt.sessions() as s:
        msg, row = s.get(Message, ids[0]), s.get(Outbox, ids[1])
    assert (msg.status, msg.segments, msg.encoding) == ("queued", 2, "GSM-7")
    assert (row.kind, row.state, row.attempts, row.message_id) == ("sms", "pending", 0, msg.id)
    assert row.case_id == msg.case_id and row.payload == {"to": PHONE}
    assert row.next_attempt_at <= utcnow()


def test_ucs2_text_counted_as_such(rt):
    with unit_of_work(rt.sessions) as s:
        msg = Message(case_id=new_case(s).id, direction="outbound", author="operator:amy",
                      body="We\u2019re here", status="new")
        enqueue_sms(s, msg, PHONE)
        assert (msg.segments, msg.encoding) == (1, "UCS-2")


def test_rolled_back_with_its_transaction(rt):
    with pytest.raises(RuntimeError), unit_of_work(rt.sessions) as s:
        msg = Message(case_id=new_case(s).id, direction="outbound", author="bot", body="hi",
                      status="new")
        enqueue_sms(s, msg, PHONE)
        enqueue_integration(s, msg.case_id, {"event": "case.decision"})
        raise RuntimeError("the webhook failed after enqueueing")
    with rt.sessions() as s:
        assert s.execute(select(func.count()).select_from(Outbox)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(Message)).scalar_one() == 0


def test_inbound_messages_and_missing_numbers_refused(rt):
    with unit_of_work(rt.sessions) as s:
        case = new_case(s)
        with pytest.raises(ValueError):
            enqueue_sms(s, Message(case_id=case.id, direction="inbound", author="reporter",
                                   body="hi", status="received"), PHONE)
        with pytest.raises(ValueError):
            enqueue_sms(s, Message(case_id=case.id, direction="outbound", author="bot",
                                   body="hi", status="new"), "")


def test_enqueue_integration(rt):
    with unit_of_work(rt.sessions) as s:
        case_id = new_case(s).id
        row_id = enqueue_integration(s, case_id, {"event": "case.decision", "n": 1}).id
    with rt.sessions() as s:
        row = s.get(Outbox, row_id)
    assert (row.kind, row.state, row.case_id, row.message_id) == ("integration", "pending",
                                                                  case_id, None)
    assert row.payload == {"event": "case.decision", "n": 1}


def test_backoff_grows_within_bounds():
    rng = random.Random(7)
    for attempts in range(1, 12):
        step = min(BACKOFF_CAP, 2.0 * 2 ** (attempts - 1))
        for _ in range(50):
            delay = backoff(attempts, rng).total_seconds()
            assert step / 2 <= delay <= step
    lows = [backoff(n, random.Random(0)) for n in range(1, 8)]
    assert lows == sorted(lows)
