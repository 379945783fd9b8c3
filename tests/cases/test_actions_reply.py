"""POST /api/cases/{id}/messages: an operator's reply to the texter (API.md section 4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.cases.actions import DISCREET, OPTED_OUT
from app.kit.events import Kind
from app.models import Message, Outbox, Reporter
from tests.cases.test_actions_helpers import audits, load_case, open_case, update_case
from tests.helpers import token_for


def url(case_id: int) -> str:
    return f"/api/cases/{case_id}/messages"


@pytest.fixture
def alice(app):  # type: ignore[no-untyped-def]
    return token_for(app, "operator", "alice")


def replies_queued(app):  # type: ignore[no-untyped-def]
    """The audit events of people's replies (the bot's own replies are queued too)."""
    return [e for e in audits(app, "message.queued") if e.actor != "bot"]


def operator_messages(app, case_id: int) -> list[Message]:
    with app.state.sessions() as s:
        return list(s.execute(
            select(Message).where(Message.case_id == case_id,
                                  Message.author.like("operator:%")).order_by(Message.id)
        ).scalars())


def test_reply_is_queued_and_the_case_goes_to_the_replier(app, client, alice):
    case_id = open_case(client, app)
    assert load_case(app, case_id).stage == "collecting"
    resp = client.post(url(case_id), json={"body": "  Are you safe to talk?  "}, headers=alice)
    assert resp.status_code == 201, resp.text
    out = resp.json()
    assert out["direction"] == "outbound"
    assert out["author"] == "operator:alice"
    assert out["body"] == "Are you safe to talk?"
    assert out["status"] == "queued"
    case = load_case(app, case_id)
    assert case.stage == "with_operator"
    assert case.first_response_at is not None
    detail = client.get(f"/api/cases/{case_id}", headers=alice).json()
    assert detail["assigned_to"] == "alice"
    assert detail["messages"][-1]["id"] == out["id"]
    [event] = replies_queued(app)
    assert event.actor == "alice" and event.case_id == case_id
    assert event.data["message_id"] == out["id"]
    assert event.data["first_response"] is True
    assert event.data["assigned_to"] == "alice"


def test_first_response_is_set_once_and_a_second_replier_does_not_take_the_case(app, client, alice):
    case_id = open_case(client, app)
    bob = token_for(app, "operator", "bob")
    assert client.post(url(case_id), json={"body": "first"}, headers=alice).status_code == 201
    first = load_case(app, case_id).first_response_at
    assert client.post(url(case_id), json={"body": "second"}, headers=bob).status_code == 201
    case = load_case(app, case_id)
    assert case.first_response_at == first
    assert client.get(f"/api/cases/{case_id}", headers=bob).json()["assigned_to"] == "alice"
    events = replies_queued(app)
    assert [e.actor for e in events] == ["alice", "bob"]
    assert events[1].data["first_response"] is False
    assert "assigned_to" not in events[1].data
    assert [m.author for m in operator_messages(app, case_id)] == ["operator:alice", "operator:bob"]


@pytest.mark.parametrize("payload", [
    {"body": ""}, {"body": "   \n\t "}, {"body": "x" * 1601}, {}, {"body": None},
    {"body": "hi", "extra": 1}, {"body": "hi", "confirm_discreet": "maybe"},
])
def test_invalid_reply_is_422_and_nothing_is_stored(app, client, alice, payload):
    case_id = open_case(client, app)
    resp = client.post(url(case_id), json=payload, headers=alice)
    assert resp.status_code == 422
    assert isinstance(resp.json()["detail"], str)
    assert operator_messages(app, case_id) == []
    assert load_case(app, case_id).first_response_at is None


def test_1600_characters_is_the_limit(app, client, alice):
    case_id = open_case(client, app)
    resp = client.post(url(case_id), json={"body": "y" * 1600 + "   "}, headers=alice)
    assert resp.status_code == 201
    assert len(resp.json()["body"]) == 1600


def test_opted_out_reporter_is_409_with_the_reason(app, client, alice):
    case_id = open_case(client, app)
    with app.state.sessions.begin() as s:
        s.execute(Reporter.__table__.update().values(opted_out=True))
    resp = client.post(url(case_id), json={"body": "hello?", "confirm_discreet": True},
                       headers=alice)
    assert resp.status_code == 409
    assert resp.json()["detail"] == OPTED_OUT
    assert operator_messages(app, case_id) == []
    assert replies_queued(app) == []


def test_discreet_case_needs_confirmation(app, client, alice):
    case_id = open_case(client, app)
    update_case(app, case_id, discreet=True)
    resp = client.post(url(case_id), json={"body": "are you ok"}, headers=alice)
    assert resp.status_code == 409
    assert resp.json()["detail"] == DISCREET
    assert "confirm_discreet=true" in DISCREET
    assert operator_messages(app, case_id) == []
    resp = client.post(url(case_id), json={"body": "are you ok", "confirm_discreet": True},
                       headers=alice)
    assert resp.status_code == 201
    [event] = replies_queued(app)
    assert event.data["discreet_confirmed"] is True


def test_confirm_discreet_is_harmless_on_an_ordinary_case(app, client, alice):
    case_id = open_case(client, app)
    resp = client.post(url(case_id), json={"body": "hi", "confirm_discreet": True}, headers=alice)
    assert resp.status_code == 201
    assert "discreet_confirmed" not in replies_queued(app)[0].data


def test_closed_case_cannot_be_replied_to(app, client, alice):
    case_id = open_case(client, app)
    assert client.post(f"/api/cases/{case_id}/close", json={"outcome": "resolved"},
                       headers=alice).status_code == 200
    resp = client.post(url(case_id), json={"body": "one more thing"}, headers=alice)
    assert resp.status_code == 409
    assert "closed" in resp.json()["detail"]
    assert operator_messages(app, case_id) == []


def test_missing_case_and_missing_credentials(app, client, alice):
    assert client.post(url(999), json={"body": "hi"}, headers=alice).status_code == 404
    assert client.post(url(0), json={"body": "hi"}, headers=alice).status_code == 422
    case_id = open_case(client, app)
    resp = client.post(url(case_id), json={"body": "hi"})
    assert resp.status_code == 401
    assert resp.json()["detail"]
    bad = {"Authorization": "Bearer tl_not-a-real-token"}
    assert client.post(url(case_id), json={"body": "hi"}, headers=bad).status_code == 401
    assert operator_messages(app, case_id) == []


@pytest.mark.parametrize("role", ["operator", "supervisor", "admin"])
def test_every_role_may_reply(app, client, role):
    case_id = open_case(client, app)
    headers = token_for(app, role)
    resp = client.post(url(case_id), json={"body": "hello"}, headers=headers)
    assert resp.status_code == 201
    assert resp.json()["author"] == f"operator:{role}_user"


def test_the_conversation_is_told_an_operator_engaged(app, client, alice):
    calls = []

    class Engaging:
        def __init__(self, inner):  # type: ignore[no-untyped-def]
            self.inner = inner

        def on_inbound(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return self.inner.on_inbound(*args, **kwargs)

        def operator_engaged(self, session, case, now):  # type: ignore[no-untyped-def]
            calls.append((case.id, case.stage, now))

    rt = app.state.runtime
    rt.intake = Engaging(rt.intake)
    case_id = open_case(client, app)
    assert client.post(url(case_id), json={"body": "hi"}, headers=alice).status_code == 201
    assert len(calls) == 1
    assert calls[0][:2] == (case_id, "with_operator")
    assert abs(calls[0][2] - load_case(app, case_id).first_response_at) < timedelta(seconds=1)


def test_reply_with_the_real_outbox_state(app, client, alice):
    case_id = open_case(client, app)
    resp = client.post(url(case_id), json={"body": "hello"}, headers=alice)
    assert resp.status_code == 201
    with app.state.sessions() as s:
        rows = s.execute(select(func.count()).select_from(Outbox)
                         .where(Outbox.message_id == resp.json()["id"])).scalar_one()
    assert rows == 1


def test_event_is_published_after_commit(app, client, alice):
    case_id = open_case(client, app)
    seen = []

    def listener(event):  # type: ignore[no-untyped-def]
        # A fresh session sees the row only if the transaction has already committed.
        with app.state.sessions() as s:
            stored = s.execute(select(Message.id)
                               .where(Message.id == event.data.get("message_id"))).first()
        seen.append((event.kind, event.case_id, stored is not None))

    app.state.runtime.events.add_listener(listener)
    assert client.post(url(case_id), json={"body": "hi"}, headers=alice).status_code == 201
    assert seen == [(Kind.MESSAGE_NEW, case_id, True)]


def test_a_texter_who_asks_for_no_texts_gets_none_without_confirmation(app, client, alice):
    case_id = open_case(client, app, "dont text back hes next to me. man on the train to "
                                     "portsmouth harbour keeps touching my leg, happening now")
    assert load_case(app, case_id).discreet is True
    resp = client.post(url(case_id), json={"body": "we are sending someone"}, headers=alice)
    assert resp.status_code == 409
    resp = client.post(url(case_id), json={"body": "we are sending someone",
                                           "confirm_discreet": True}, headers=alice)
    assert resp.status_code == 201
    assert replies_queued(app)[0].data["discreet_confirmed"] is True
    # Still discreet after the operator engaged: the next reply needs confirming again.
    assert load_case(app, case_id).discreet is True
    assert client.post(url(case_id), json={"body": "again"}, headers=alice).status_code == 409
