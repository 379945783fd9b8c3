"""The conversation and the dispatcher behind the webhook: decisions, 999 advice, integration rows."""

from __future__ import annotations

from sqlalchemy import select

from app.kit.config import Settings
from app.main import create_app
from app.models import AuditEvent, Message, Outbox
from tests.helpers import converse, text_in, token_for


def case_of(client, headers, phone):
    items = client.get(f"/api/cases?phone={phone.replace('+', '%2B')}", headers=headers).json()["items"]
    return client.get(f"/api/cases/{items[0]['id']}", headers=headers).json()


def test_999_known_mid_conversation_is_decided_at_once_and_advised(app, client):
    headers = token_for(app)
    phone = "+447700900801"
    first = converse(client, "someone is being weird at leeds station", phone=phone)
    case = case_of(client, headers, phone)
    assert case["decision"]["decision"] == "101"
    assert not any("call 999 now" in r.lower() for r in first)
    second = converse(client, "hes got a knife out now", phone=phone)
    case = case_of(client, headers, phone)
    assert case["decision"]["decision"] == "999" and case["priority"] == "P1"
    assert case["decision"]["by"] == "dispatcher"
    assert any("weapon" in reason for reason in case["decision"]["reasons"])
    assert second and "999" in second[0]
    bot = [m for m in case["messages"] if m["author"] == "bot"]
    assert all(m["segments"] in (1, 2) and m["encoding"] == "GSM-7" for m in bot)


def test_discreet_texter_gets_no_999_text(app, client):
    headers = token_for(app)
    phone = "+447700900802"
    out = converse(client, "cant talk hes watching me, man with a knife at leeds station now",
                   phone=phone)
    assert out == []
    case = case_of(client, headers, phone)
    assert case["reporter"]["discreet"] is True
    assert case["decision"]["decision"] == "999"


def test_dispatcher_never_lowers_999(app, client):
    headers = token_for(app)
    phone = "+447700900803"
    text_in(client, "man waving a knife at leeds station right now", phone=phone)
    text_in(client, "actually it was yesterday", phone=phone)
    case = case_of(client, headers, phone)
    assert case["decision"]["decision"] == "999"


def test_decisions_are_audited_with_rule_and_reasons(app, client):
    text_in(client, "lad about 14 being made to carry packages by older men at leeds station now",
            phone="+447700900804")
    with app.state.sessions() as s:
        events = s.execute(select(AuditEvent).where(AuditEvent.action == "decision.made")).scalars().all()
    assert len(events) == 1
    assert events[0].data["rule"] and events[0].data["reasons"]
    assert events[0].actor == "dispatcher"


def test_integration_row_once_per_decision_change(settings_kwargs, tmp_path):
    from fastapi.testclient import TestClient

    app = create_app(Settings(**{**settings_kwargs, "integration_url": "http://127.0.0.1:9/cad",
                                 "integration_secret": "integration-secret-0123456789"}))
    with TestClient(app, base_url="https://textline.example.org") as client:
        phone = "+447700900805"
        text_in(client, "someone shouting at people at leeds station", phone=phone)
        text_in(client, "he is about 40", phone=phone)  # no decision change
        text_in(client, "now hes pulled a knife, right now", phone=phone)  # 101 -> 999
    with app.state.sessions() as s:
        rows = s.execute(select(Outbox).where(Outbox.kind == "integration")
                         .order_by(Outbox.id)).scalars().all()
    decisions = [r.payload["decision"]["decision"] for r in rows]
    assert decisions == ["101", "999"]
    assert rows[-1].payload["case"]["priority"] == "P1"


def test_custom_routing_file_changes_routing_without_code(settings_kwargs, tmp_path):
    from fastapi.testclient import TestClient

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - name: leeds-desk\n"
        "    when: {station: [LDS]}\n"
        "    then: {decision: '101', queue: leeds, priority: P2}\n"
        "  - name: routine\n"
        "    then: {decision: '101', queue: general, priority: P3}\n")
    app = create_app(Settings(**{**settings_kwargs, "routing_file": rules}))
    headers = token_for(app)
    with TestClient(app, base_url="https://textline.example.org") as client:
        text_in(client, "someone acting odd at leeds station", phone="+447700900806")
        case = case_of(client, headers, "+447700900806")
    assert case["decision"]["queue"] == "leeds"
    assert case["decision"]["rule"] == "leeds-desk"


def test_stop_then_operator_reply_is_refused(app, client):
    headers = token_for(app)
    phone = "+447700900807"
    text_in(client, "someone acting odd at leeds station", phone=phone)
    out = converse(client, "STOP", phone=phone)
    assert len(out) == 1 and "START" in out[0]
    assert converse(client, "he has gone now", phone=phone) == []
    case = case_of(client, headers, phone)
    assert case["reporter"]["opted_out"] is True
    resp = client.post(f"/api/cases/{case['id']}/messages", json={"body": "hello"}, headers=headers)
    assert resp.status_code == 409
    with app.state.sessions() as s:
        assert s.execute(select(Message).where(Message.author.like("operator:%"))).first() is None


def test_999_after_the_bot_stopped_asking_still_texts_the_advice(app, client):
    """The bot has all it asks for; a later text that makes it 999 must still tell the texter
    to call 999 now: the one reply to that text carries the advice."""
    headers = token_for(app)
    phone = "+447700900806"
    converse(client, "a man is being rude to people at leeds station", phone=phone)
    converse(client, "he is about 40, its happening now", phone=phone)
    case = case_of(client, headers, phone)
    assert case["conversation"] == "done" and case["decision"]["decision"] == "101", case
    out = converse(client, "hes just pulled out a knife", phone=phone)
    case = case_of(client, headers, phone)
    assert case["decision"]["decision"] == "999"
    assert len(out) == 1 and "999" in out[0], out
