"""POST /webhooks/twilio/status: delivery news moves an outbound message forward, never back."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.kit.db import unit_of_work
from app.kit.errors import install_error_handlers
from app.models import AuditEvent, Message, Reporter
from app.sms.status_router import router
from tests.helpers import PUBLIC, signed_headers
from tests.sms.fake_twilio import make_runtime, queue_text

PATH = "/webhooks/twilio/status"
SID = "SM" + "f" * 32


@pytest.fixture
def rt(settings):
    runtime = make_runtime(settings)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def client(rt):
    app = FastAPI()
    app.state.runtime = rt
    install_error_handlers(app)
    app.include_router(router)
    with TestClient(app, base_url=PUBLIC) as c:
        yield c


@pytest.fixture
def sent_id(rt) -> int:
    msg_id, _ = queue_text(rt, "We have passed this on.")
    with unit_of_work(rt.sessions) as s:
        msg = s.get(Message, msg_id)
        msg.provider_sid, msg.status = SID, "sent"
    return msg_id


def callback(client, status: str, sid: str = SID, **extra: str):  # type: ignore[no-untyped-def]
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "a" * 32, **extra}
    return client.post(PATH, data=params, headers=signed_headers(params, path=PATH))


def current(rt, msg_id: int) -> Message:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return s.get(Message, msg_id)


def test_delivered(client, rt, sent_id):
    assert callback(client, "delivered").status_code == 200
    msg = current(rt, sent_id)
    assert msg.status == "delivered" and msg.status_at is not None and msg.error is None


def test_out_of_order_news_never_moves_back(client, rt, sent_id):
    assert callback(client, "delivered").status_code == 200
    for late in ("sent", "sending", "queued", "accepted", "undelivered"):
        assert callback(client, late).status_code == 200
        assert current(rt, sent_id).status == "delivered"


def test_early_statuses_do_not_undo_sent(client, rt, sent_id):
    for early in ("queued", "accepted", "sending", "sent"):
        callback(client, early)
        assert current(rt, sent_id).status == "sent"


def test_queued_message_learns_it_was_sent(client, rt):
    msg_id, _ = queue_text(rt, "Still there?")
    with unit_of_work(rt.sessions) as s:
        s.get(Message, msg_id).provider_sid = SID  # stored, status still queued
    callback(client, "sending")
    assert current(rt, msg_id).status == "sent"


def test_undelivered_stores_the_error(client, rt, sent_id):
    assert callback(client, "undelivered", ErrorCode="30006").status_code == 200
    msg = current(rt, sent_id)
    assert msg.status == "undelivered"
    assert msg.error == "30006: landline or unreachable carrier"
    with rt.sessions() as s:
        assert "message.undelivered" in s.execute(select(AuditEvent.action)).scalars().all()


def test_opted_out_failure_opts_the_reporter_out(client, rt, sent_id):
    callback(client, "failed", ErrorCode="21610")
    assert current(rt, sent_id).status == "failed"
    with rt.sessions() as s:
        assert s.execute(select(Reporter.opted_out)).scalar_one() is True


def test_unknown_sid_is_accepted_and_ignored(client, rt, sent_id):
    resp = callback(client, "delivered", sid="SM" + "0" * 32)
    assert resp.status_code == 200
    assert current(rt, sent_id).status == "sent"


def test_inbound_sid_is_not_touched(client, rt, sent_id):
    with unit_of_work(rt.sessions) as s:
        inbound = Message(case_id=current(rt, sent_id).case_id, direction="inbound",
                          author="reporter", body="hi", provider_sid="SM" + "1" * 32,
                          status="received")
        s.add(inbound)
        s.flush()
        inbound_id = inbound.id
    callback(client, "delivered", sid="SM" + "1" * 32)
    assert current(rt, inbound_id).status == "received"


def test_unknown_status_word_is_ignored(client, rt, sent_id):
    assert callback(client, "partially_delivered").status_code == 200
    assert current(rt, sent_id).status == "sent"


@pytest.mark.parametrize("params", [
    {"MessageStatus": "delivered"},
    {"MessageSid": SID},
    {"MessageSid": "SM/../x", "MessageStatus": "delivered"},
])
def test_missing_or_malformed_fields_400(client, rt, sent_id, params):
    resp = client.post(PATH, data=params, headers=signed_headers(params, path=PATH))
    assert resp.status_code == 400
    assert current(rt, sent_id).status == "sent"


def test_an_error_code_that_is_not_one_is_ignored(client, rt, sent_id):
    # The status is still news; tests/security/test_status_callback_fields.py has the rest.
    assert callback(client, "failed", ErrorCode="abc").status_code == 200
    msg = current(rt, sent_id)
    assert msg.status == "failed" and msg.error is None


def test_unsigned_or_forged_callback_403(client, rt, sent_id):
    params = {"MessageSid": SID, "MessageStatus": "failed"}
    assert client.post(PATH, data=params).status_code == 403
    assert client.post(PATH, data=params, headers={"X-Twilio-Signature": "Zm9yZ2Vk"}).status_code == 403
    assert current(rt, sent_id).status == "sent"
