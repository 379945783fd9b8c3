"""A signed status callback with absurd fields is never a 500: what fits is stored, what is
absurd is ignored, and Twilio hears the 200 it expects (a refusal would only make it retry).

Through the real app, on both databases: PostgreSQL refuses integers past 64 bits and NUL in
text where SQLite stores them, so a field that slipped through would fail only there.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.kit.db import unit_of_work
from app.models import AuditEvent, Message
from tests.helpers import signed_headers, text_in

PATH = "/webhooks/twilio/status"
SID = "SM" + "e" * 32


@pytest.fixture
def sent_id(app, client) -> int:
    """The bot's first reply to a texter, handed to Twilio and given its SID."""
    assert text_in(client, "a man shouting at leeds station now", phone="+447700900871"
                   ).status_code == 200
    with unit_of_work(app.state.sessions) as s:
        msg = s.execute(select(Message).where(Message.direction == "outbound")
                        .order_by(Message.id).limit(1)).scalar_one()
        msg.provider_sid, msg.status = SID, "sent"
        return msg.id


def callback(client, **fields: str):  # type: ignore[no-untyped-def]
    params = {"MessageSid": SID, "AccountSid": "AC" + "a" * 32, **fields}
    return client.post(PATH, data=params, headers=signed_headers(params, path=PATH))


def stored(app, msg_id: int) -> Message:  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        return s.get(Message, msg_id)


def audited(app) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action.in_(("message.failed", "message.undelivered")))
                              ).scalars())


@pytest.mark.parametrize("code", [
    "9" * 5000,                      # past Python's 4,300-digit limit on int()
    "99999999999999999999",          # past 64 bits: PostgreSQL's bigint and JSON number checks
    "-30006", "30006.5", "1e5", "0x7556", "abc", "",
    "\u0663\u0660\u0660\u0660\u0666",  # Arabic-Indic digits: str.isdigit() says yes
    "\u00b2",                        # superscript two: isdigit() yes, int() no
])
def test_an_absurd_error_code_is_ignored_and_the_status_kept(app, client, sent_id, code):
    resp = callback(client, MessageStatus="failed", ErrorCode=code)
    assert resp.status_code == 200, resp.text
    msg = stored(app, sent_id)
    assert msg.status == "failed"
    assert msg.error is None  # nothing made up from a code that is not one
    [event] = audited(app)
    assert event.action == "message.failed" and event.data["code"] is None


def test_a_real_error_code_is_still_stored(app, client, sent_id):
    assert callback(client, MessageStatus="undelivered", ErrorCode=" 30006 ").status_code == 200
    msg = stored(app, sent_id)
    assert (msg.status, msg.error) == ("undelivered", "30006: landline or unreachable carrier")
    assert audited(app)[0].data["code"] == 30006


@pytest.mark.parametrize("status", ["x" * 10_000, "delivered\u200b", "DELIVERED" * 100,
                                    "\U0001f600" * 1000, "99999999999999999999", "read;drop"])
def test_an_unknown_or_absurd_status_is_answered_200_and_changes_nothing(app, client, sent_id,
                                                                         status):
    assert callback(client, MessageStatus=status, ErrorCode="30006").status_code == 200
    msg = stored(app, sent_id)
    assert (msg.status, msg.error) == ("sent", None)
    assert audited(app) == []


@pytest.mark.parametrize("fields", [
    {"ErrorMessage": "y" * 10_000, "Price": "-99999999999999999999", "NumSegments": "9" * 5000},
    {"SmsStatus": "delivered", "SmsSid": "SM" + "0" * 5000},
    {"MessageStatus": "delivered", "ErrorCode": "30008", "RawDlrDoneDate": "9999-12-31T23:59:59"},
])
def test_unknown_fields_of_any_size_are_ignored(app, client, sent_id, fields):
    resp = callback(client, **{"MessageStatus": "delivered", **fields})
    assert resp.status_code == 200, resp.text
    assert stored(app, sent_id).status == "delivered"


@pytest.mark.parametrize("sid", ["SM" + "\u0663" * 32, "S" * 65, "SM\u00aa" + "0" * 30])
def test_a_sid_that_twilio_never_makes_is_400_and_stores_nothing(app, client, sent_id, sid):
    params = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "30006"}
    resp = client.post(PATH, data=params, headers=signed_headers(params, path=PATH))
    assert resp.status_code == 400
    assert resp.json()["detail"] == "MessageSid missing or malformed"
    assert stored(app, sent_id).status == "sent"
