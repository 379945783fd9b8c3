"""POST /webhooks/twilio/sms through the ASGI app (API.md section 3)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import func, select

from app.inbox.reader import process_pending
from app.models import AuditEvent, Case, Inbox, Message, Outbox
from tests.helpers import SMS_PATH, converse, new_sid, signed_headers, sms_form, text_in


def count(app, model) -> int:
    with app.state.sessions() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def twiml_messages(resp) -> list[str]:
    return [m.text for m in ET.fromstring(resp.text).iter("Message")]


def test_first_text_gets_reference_and_999_advice(app, client):
    texts = converse(client, "a lad is being hassled at leeds station")
    assert len(texts) >= 1
    with app.state.sessions() as s:
        case = s.execute(select(Case)).scalar_one()
        queued = s.execute(select(Outbox.payload).where(Outbox.kind == "sms")).scalars().all()
    assert case.reference in texts[0]
    assert "If anyone is in immediate danger, call 999." in texts[0]
    assert count(app, Message) == 1 + len(texts)
    # Every reply goes by the REST API, through the outbox, to the texter's number.
    assert [q["to"] for q in queued] == ["+447700900123"] * len(texts)
    assert case.first_bot_reply_at is not None


def test_webhook_answers_empty_twiml_once_the_text_is_safe(app, client):
    resp = text_in(client, "a lad is being hassled at leeds station", read=False)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/xml")
    assert twiml_messages(resp) == []
    # Acknowledged means committed: the text is in the inbox before anything has read it.
    with app.state.sessions() as s:
        waiting = s.execute(select(Inbox)).scalar_one()
    assert waiting.body == "a lad is being hassled at leeds station"
    assert waiting.phone == "+447700900123"
    assert count(app, Message) == 0
    assert process_pending(app.state.runtime) == 1
    assert count(app, Inbox) == 0
    assert count(app, Message) >= 2


def test_texts_from_one_number_are_read_in_arrival_order(app, client):
    for body in ("first", "second", "third"):
        text_in(client, body, phone="+447700900555", read=False)
    text_in(client, "other", phone="+447700900556", read=False)
    assert process_pending(app.state.runtime) == 4
    with app.state.sessions() as s:
        bodies = s.execute(select(Message.body).where(Message.direction == "inbound")
                           .order_by(Message.id)).scalars().all()
    # In order per number; another number's text may be read beside them (the same batch).
    assert [b for b in bodies if b != "other"] == ["first", "second", "third"]
    assert sorted(bodies) == ["first", "other", "second", "third"]


def test_signature_checked_against_public_url_behind_proxy(client, app):
    # The test client calls https://textline.example.org; a proxy might have called us on
    # http://10.0.0.5:8000, but the signature is over the public URL, path and query.
    params = sms_form("hello")
    headers = signed_headers(params, query="tenant=bt")
    assert client.post(SMS_PATH + "?tenant=bt", data=params, headers=headers).status_code == 200
    # Signed without the query string: refused.
    params = sms_form("hello again")
    assert client.post(SMS_PATH + "?tenant=bt", data=params,
                       headers=signed_headers(params)).status_code == 403


def test_forged_and_missing_signatures_store_nothing(client, app):
    params = sms_form("forged")
    assert client.post(SMS_PATH, data=params, headers={"X-Twilio-Signature": "bm90IGl0"}).status_code == 403
    assert client.post(SMS_PATH, data=params).status_code == 403
    tampered = dict(params)
    headers = signed_headers(params)
    tampered["Body"] = "changed in flight"
    assert client.post(SMS_PATH, data=tampered, headers=headers).status_code == 403
    assert count(app, Message) == 0
    assert count(app, Case) == 0
    assert count(app, Inbox) == 0


def test_duplicate_message_sid_processed_once(client, app):
    params = sms_form("someone is following me at euston")
    rt = app.state.runtime
    first = client.post(SMS_PATH, data=params, headers=signed_headers(params))
    waiting = client.post(SMS_PATH, data=params, headers=signed_headers(params))  # still unread
    assert count(app, Inbox) == 1
    assert process_pending(rt) == 1
    with app.state.sessions() as s:
        bot = s.execute(select(func.count()).where(Message.author == "bot")).scalar_one()
    late = client.post(SMS_PATH, data=params, headers=signed_headers(params))  # after reading
    assert process_pending(rt) == 1  # read, found stored, dropped
    assert first.status_code == waiting.status_code == late.status_code == 200
    with app.state.sessions() as s:
        inbound = s.execute(select(func.count()).where(Message.direction == "inbound")).scalar_one()
        assert s.execute(select(func.count()).where(Message.author == "bot")).scalar_one() == bot
    assert inbound == 1 and bot >= 1
    assert count(app, Inbox) == 0


def test_malformed_requests_are_400_and_store_nothing(client, app):
    for missing in ("From", "MessageSid"):
        params = sms_form("x")
        del params[missing]
        resp = client.post(SMS_PATH, data=params, headers=signed_headers(params))
        assert resp.status_code == 400, missing
        assert "detail" in resp.json()
    params = sms_form("x", phone="not-a-number")
    assert client.post(SMS_PATH, data=params, headers=signed_headers(params)).status_code == 400
    params = sms_form("x" * 20_000)
    assert client.post(SMS_PATH, data=params, headers=signed_headers(params)).status_code == 400
    resp = client.post(SMS_PATH, content=b"\xff\xfe=\x00", headers={
        "content-type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 400
    resp = client.post(SMS_PATH, json={"From": "+447700900123"})
    assert resp.status_code == 400
    assert count(app, Message) == 0
    assert count(app, Inbox) == 0


def test_body_cap_applies_to_streamed_bodies_without_length(client, app):
    def chunks():
        yield b"MessageSid=SM1&From=%2B447700900123&Body="
        for _ in range(100):
            yield b"a" * 1000

    resp = client.post(SMS_PATH, content=chunks(),
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 400
    assert count(app, Message) == 0


def test_texter_content_is_escaped_in_twiml(client, app):
    resp = text_in(client, "<Response><Message>pwned</Message></Response> & more")
    assert resp.status_code == 200
    ET.fromstring(resp.text)  # still well-formed XML
    with app.state.sessions() as s:
        body = s.execute(select(Message.body).where(Message.direction == "inbound")).scalar_one()
    assert body.startswith("<Response>")


def test_every_inbound_text_is_audited(client, app):
    text_in(client, "one")
    text_in(client, "two")
    with app.state.sessions() as s:
        actions = s.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
    assert actions.count("message.received") == 2
    assert actions.count("case.opened") == 1


def test_media_urls_are_kept(client, app):
    params = sms_form("photo of him", NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1")
    assert client.post(SMS_PATH, data=params, headers=signed_headers(params)).status_code == 200
    process_pending(app.state.runtime)
    with app.state.sessions() as s:
        media = s.execute(select(Message.media).where(Message.direction == "inbound")).scalar_one()
    assert media == ["https://api.twilio.com/media/ME1"]


def test_sid_of_other_shape_is_rejected(client):
    params = sms_form("x", sid="SM' OR 1=1 --")
    assert client.post(SMS_PATH, data=params, headers=signed_headers(params)).status_code == 400
    assert new_sid() != new_sid()
