"""/simulator: texts go through the signed webhook; only fictional numbers; never notes."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import select

from app.dashboard.simulator import fictional
from app.inbox.reader import process_pending
from app.models import Message, Reporter
from app.sms.signature import sign
from app.sms.simulate import new_sid, post_text
from tests.conftest import TEST_AUTH_TOKEN
from tests.dashboard.signin import sign_in

PHONE = "+447700900777"


def _send(client, csrf: str, body: str, phone: str = PHONE):  # type: ignore[no-untyped-def]
    resp = client.post("/simulator/send", json={"phone": phone, "body": body},
                       headers={"X-CSRF-Token": csrf})
    process_pending(client.app.state.runtime)  # as the server's processor would, straight after
    return resp


def test_only_fictional_numbers():
    assert fictional("+447700900000") == "+447700900000"
    assert fictional("07700 900123") == "+447700900123"
    for real in ("+447700901000", "+447911123456", "+4477009001234", "61016", "", None):
        assert fictional(real) is None, real


def test_a_simulated_text_goes_through_the_webhook(app, client):
    csrf = sign_in(client, app)
    page = client.get("/simulator")
    assert page.status_code == 200 and 'id="sim-phone"' in page.text
    resp = _send(client, csrf, "someone shouting at leeds station")
    assert resp.status_code == 200
    with app.state.sessions() as s:
        inbound = s.execute(select(Message).where(Message.direction == "inbound")).scalar_one()
        phone = s.execute(select(Reporter.phone)).scalar_one()
        replies = s.execute(select(Message.body).where(Message.author == "bot")
                            .order_by(Message.id)).scalars().all()
    assert phone == PHONE and inbound.provider_sid == resp.json()["sid"]
    assert replies and "TL-" in replies[0]

    listed = client.get("/simulator/messages", params={"phone": PHONE}).json()["messages"]
    assert [m["mine"] for m in listed[:2]] == [True, False]
    assert listed[0]["body"] == "someone shouting at leeds station"
    assert listed[1]["body"] == replies[0]


def test_the_phone_never_shows_internal_notes_but_shows_operator_texts(app, client):
    csrf = sign_in(client, app)
    _send(client, csrf, "someone shouting at leeds station")
    client.post("/cases/1/note", data={"body": "internal only", "csrf_token": csrf})
    client.post("/cases/1/reply", data={"body": "Are they still there?", "csrf_token": csrf})
    bodies = [m["body"] for m in
              client.get("/simulator/messages", params={"phone": PHONE}).json()["messages"]]
    assert "internal only" not in bodies
    assert bodies[-1] == "Are they still there?"


def test_real_numbers_and_missing_csrf_are_refused(app, client):
    csrf = sign_in(client, app)
    assert _send(client, csrf, "hi", phone="+447911123456").status_code == 422
    assert client.get("/simulator/messages", params={"phone": "+447911123456"}).status_code == 422
    no_token = client.post("/simulator/send", json={"phone": PHONE, "body": "hi"})
    assert no_token.status_code == 403
    with app.state.sessions() as s:
        assert s.execute(select(Message)).first() is None


def test_simulator_is_off_with_a_real_sms_provider(settings_kwargs):
    from fastapi.testclient import TestClient

    from app.kit.config import Settings
    from app.main import create_app

    app = create_app(Settings(**{**settings_kwargs, "sms_provider": "twilio",
                                 "twilio_from": "61016"}))
    with TestClient(app, base_url="https://textline.example.org") as client:
        csrf = sign_in(client, app)
        page = client.get("/simulator")
        assert page.status_code == 409 and "console SMS provider" in page.text
        assert _send(client, csrf, "hello").status_code == 409


def _replies(client, phone: str, sid: str, after: int = 0, token: str | None = TEST_AUTH_TOKEN):  # type: ignore[no-untyped-def]
    """GET /simulator/replies as `textline simulate` asks it: signed like a webhook."""
    url = "https://textline.example.org/simulator/replies?" + urlencode(
        {"phone": phone, "sid": sid, "after": after})
    headers = {"X-Twilio-Signature": sign(token, url, {})} if token else {}
    return client.get(url, headers=headers)


def test_the_command_line_simulator_reads_replies_over_http(app, client):
    """No sign-in, but a signature: the replies once the text is read, and only new ones."""
    sid = new_sid()
    assert post_text(client, app.state.runtime.settings, "https://textline.example.org"
                     "/webhooks/twilio/sms", PHONE, "someone shouting at leeds station",
                     sid=sid).status_code == 200
    assert _replies(client, PHONE, sid).json() == {"read": False, "replies": []}
    process_pending(app.state.runtime)
    first = _replies(client, PHONE, sid).json()
    assert first["read"] is True and "TL-" in first["replies"][0]["body"]
    later = _replies(client, PHONE, sid, after=first["replies"][-1]["id"]).json()
    assert later == {"read": True, "replies": []}
    # Another fictional phone learns nothing of this one's text.
    assert _replies(client, "+447700900778", sid).json() == {"read": False, "replies": []}


def test_the_command_line_simulator_is_refused_without_signature_or_fictional_number(app, client):
    sid = new_sid()
    assert _replies(client, PHONE, sid, token=None).status_code == 403
    assert _replies(client, PHONE, sid, token="another-token-0123456789").status_code == 403
    refused = _replies(client, "+447911123456", sid)
    assert refused.status_code == 422 and "fictional" in refused.json()["detail"]
    assert _replies(client, PHONE, "x" * 65).status_code == 422
    assert _replies(client, PHONE, sid, after=-1).status_code == 422


def test_the_command_line_simulator_shows_no_replies_with_twilio(settings_kwargs):
    from fastapi.testclient import TestClient

    from app.kit.config import Settings
    from app.main import create_app

    app = create_app(Settings(**{**settings_kwargs, "sms_provider": "twilio",
                                 "twilio_from": "61016"}))
    with TestClient(app, base_url="https://textline.example.org") as client:
        refused = _replies(client, PHONE, new_sid())
    assert refused.status_code == 409 and "console SMS provider" in refused.json()["detail"]
