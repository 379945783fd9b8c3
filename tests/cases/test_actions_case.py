"""Claim, notes, decision override and close, through HTTP (API.md section 4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit.service import verify
from app.kit.db import utcnow
from app.kit.events import Kind
from app.models import Case, Message, Outbox, Reporter
from tests.cases.test_actions_helpers import PHONE, audits, load_case, open_case, update_case
from tests.helpers import text_in, token_for


@pytest.fixture
def alice(app):  # type: ignore[no-untyped-def]
    return token_for(app, "operator", "alice")


@pytest.fixture
def bob(app):  # type: ignore[no-untyped-def]
    return token_for(app, "operator", "bob")


def claim(client, case_id, headers):  # type: ignore[no-untyped-def]
    return client.post(f"/api/cases/{case_id}/claim", headers=headers)


def note(client, case_id, headers, body="called the station"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/cases/{case_id}/notes", json={"body": body}, headers=headers)


def decide(client, case_id, headers, **payload):  # type: ignore[no-untyped-def]
    body = {"decision": "999", "queue": "emergency", "reason": "caller says knife seen"}
    body.update(payload)
    return client.post(f"/api/cases/{case_id}/decision",
                       json={k: v for k, v in body.items() if v is not ...}, headers=headers)


def close(client, case_id, headers, outcome="officers attended"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/cases/{case_id}/close", json={"outcome": outcome}, headers=headers)


# claim

def test_claim_assigns_the_caller_and_moves_the_stage(app, client, alice):
    case_id = open_case(client, app)
    resp = claim(client, case_id, alice)
    assert resp.status_code == 200
    out = resp.json()
    assert out["assigned_to"] == "alice"
    assert out["stage"] == "with_operator"
    assert out["messages"] is not None
    assert out["first_response_at"] is None  # claiming is not a response to the texter
    [event] = audits(app, "case.claimed")
    assert event.actor == "alice" and event.case_id == case_id
    assert event.data == {"previous": None, "reassigned": False}


def test_claiming_a_held_case_reassigns_it_and_names_the_previous_holder(app, client, alice, bob):
    case_id = open_case(client, app)
    assert claim(client, case_id, alice).status_code == 200
    resp = claim(client, case_id, bob)
    assert resp.status_code == 200
    assert resp.json()["assigned_to"] == "bob"
    events = audits(app, "case.claimed")
    assert [e.actor for e in events] == ["alice", "bob"]
    assert events[1].data == {"previous": "alice", "reassigned": True}


def test_claim_errors(app, client, alice):
    assert claim(client, 4242, alice).status_code == 404
    case_id = open_case(client, app)
    assert claim(client, case_id, {}).status_code == 401
    assert close(client, case_id, alice).status_code == 200
    resp = claim(client, case_id, alice)
    assert resp.status_code == 409
    assert load_case(app, case_id).stage == "closed"
    assert audits(app, "case.claimed") == []


def test_claim_tells_the_conversation(app, client, alice):
    calls = []

    class Engaging:
        def on_inbound(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return []

        def operator_engaged(self, session, case, now):  # type: ignore[no-untyped-def]
            calls.append(case.id)

    case_id = open_case(client, app)
    app.state.runtime.intake = Engaging()
    assert claim(client, case_id, alice).status_code == 200
    assert calls == [case_id]


@pytest.mark.parametrize("role", ["operator", "supervisor", "admin"])
def test_every_role_may_act(app, client, role):
    headers = token_for(app, role)
    case_id = open_case(client, app)
    assert claim(client, case_id, headers).status_code == 200
    assert note(client, case_id, headers).status_code == 201
    assert decide(client, case_id, headers).status_code == 200
    assert close(client, case_id, headers).status_code == 200


# notes

def test_note_is_internal_and_never_texted(app, client, alice):
    case_id = open_case(client, app)
    before = load_case(app, case_id)
    resp = note(client, case_id, alice, "  spoke to BTP Leeds, unit on way ")
    assert resp.status_code == 201
    out = resp.json()
    assert out["direction"] == "internal"
    assert out["author"] == "note:alice"
    assert out["status"] == "received"
    assert out["body"] == "spoke to BTP Leeds, unit on way"
    with app.state.sessions() as s:
        texted = s.execute(select(func.count()).select_from(Outbox).join(
            Message, Message.id == Outbox.message_id).where(Message.author != "bot")).scalar_one()
    assert texted == 0
    after = load_case(app, case_id)
    assert after.stage == before.stage
    assert after.first_response_at is None
    assert after.assigned_to_id is None
    assert after.updated_at > before.updated_at
    [event] = audits(app, "note.added")
    assert event.actor == "alice" and event.data["message_id"] == out["id"]


def test_note_errors_and_closed_cases(app, client, alice):
    case_id = open_case(client, app)
    assert note(client, case_id, alice, "  ").status_code == 422
    assert note(client, case_id, alice, "n" * 4001).status_code == 422
    assert note(client, 4242, alice).status_code == 404
    assert note(client, case_id, {}).status_code == 401
    assert client.post(f"/api/cases/{case_id}/notes", json={"text": "x"},
                       headers=alice).status_code == 422
    assert close(client, case_id, alice).status_code == 200
    # Follow-up often arrives after closing: a note on a closed case is allowed.
    assert note(client, case_id, alice, "court date set").status_code == 201
    assert load_case(app, case_id).status == "closed"


# decision override

def decision_columns(app, case_id):  # type: ignore[no-untyped-def]
    case = load_case(app, case_id)
    return (case.decision, case.queue, case.priority, case.decision_by, case.decision_rule,
            case.decision_reasons, case.decision_at)


def test_override_to_999(app, client, alice):
    case_id = open_case(client, app)
    before = load_case(app, case_id)
    resp = decide(client, case_id, alice, reason="  caller says knife seen  ")
    assert resp.status_code == 200
    out = resp.json()
    assert out["priority"] == "P1"
    assert out["decision"]["decision"] == "999"
    assert out["decision"]["queue"] == "emergency"
    assert out["decision"]["by"] == "operator:alice"
    assert out["decision"]["rule"] == "override"
    assert out["decision"]["reasons"] == ["caller says knife seen"]
    case = load_case(app, case_id)
    assert case.decision_by.startswith("operator:")
    assert case.decision_at is not None
    [event] = audits(app, "decision.override")
    assert event.actor == "alice"
    assert event.data["previous"] == {"decision": before.decision, "queue": before.queue,
                                      "priority": before.priority, "by": before.decision_by,
                                      "rule": before.decision_rule}
    assert event.data["new"] == {"decision": "999", "queue": "emergency", "priority": "P1"}
    assert event.data["reason"] == "caller says knife seen"


def test_999_down_to_101_needs_a_human_and_records_what_it_was(app, client, alice):
    case_id = open_case(client, app)
    update_case(app, case_id, decision="999", queue="emergency", priority="P1",
                decision_by="dispatcher", decision_rule="now_severe",
                decision_reasons=["happening now"], decision_at=utcnow())
    assert claim(client, case_id, alice).status_code == 200  # a 999 stands down by its holder
    resp = decide(client, case_id, alice, decision="101", queue="general",
                  reason="spoke to caller: it happened yesterday")
    assert resp.status_code == 200
    assert resp.json()["priority"] == "P2"
    assert resp.json()["decision"]["decision"] == "101"
    [event] = audits(app, "decision.override")
    assert event.data["previous"] == {"decision": "999", "queue": "emergency", "priority": "P1",
                                      "by": "dispatcher", "rule": "now_severe"}


@pytest.mark.parametrize("previous,expected", [("P3", "P3"), ("P2", "P2")])
def test_101_keeps_the_previous_101_priority(app, client, alice, previous, expected):
    case_id = open_case(client, app)
    update_case(app, case_id, decision="101", queue="general", priority=previous,
                decision_by="dispatcher", decision_at=utcnow())
    resp = decide(client, case_id, alice, decision="101", queue="safeguarding",
                  reason="child involved")
    assert resp.status_code == 200
    assert resp.json()["priority"] == expected
    assert resp.json()["decision"]["queue"] == "safeguarding"


def test_101_without_a_previous_decision_is_p2(app, client, alice):
    case_id = open_case(client, app)
    update_case(app, case_id, decision=None, queue=None, priority=None, decision_by=None,
                decision_rule=None, decision_reasons=None, decision_at=None)
    resp = decide(client, case_id, alice, decision="101", queue="general", reason="routine")
    assert resp.json()["priority"] == "P2"


@pytest.mark.parametrize("payload", [
    {"reason": ""}, {"reason": "   "}, {"reason": "r" * 501}, {"reason": ...},
    {"queue": ""}, {"queue": "q" * 33}, {"queue": ...},
    {"decision": "112"}, {"decision": 999}, {"decision": ...}, {"extra": True},
])
def test_invalid_override_is_422_and_changes_nothing(app, client, alice, payload):
    case_id = open_case(client, app)
    before = decision_columns(app, case_id)
    resp = decide(client, case_id, alice, **payload)
    assert resp.status_code == 422
    assert isinstance(resp.json()["detail"], str)
    assert decision_columns(app, case_id) == before
    assert audits(app, "decision.override") == []


def test_override_limits_are_inclusive(app, client, alice):
    case_id = open_case(client, app)
    resp = decide(client, case_id, alice, queue="general", reason="r" * 500)
    assert resp.status_code == 200


def test_override_errors(app, client, alice):
    assert decide(client, 4242, alice).status_code == 404
    case_id = open_case(client, app)
    assert decide(client, case_id, {}).status_code == 401
    assert close(client, case_id, alice).status_code == 200
    before = decision_columns(app, case_id)
    assert decide(client, case_id, alice).status_code == 409
    assert decision_columns(app, case_id) == before


# close, reopen, one open case per reporter

def test_close(app, client, alice):
    case_id = open_case(client, app)
    resp = close(client, case_id, alice, " words of advice given ")
    assert resp.status_code == 200
    out = resp.json()
    assert out["status"] == "closed" and out["stage"] == "closed"
    assert out["closed_at"] is not None
    assert out["outcome"] == "words of advice given"
    assert load_case(app, case_id).open_reporter_id is None
    [event] = audits(app, "case.closed")
    assert event.actor == "alice" and event.data == {"outcome": "words of advice given"}
    again = close(client, case_id, alice)
    assert again.status_code == 409
    assert len(audits(app, "case.closed")) == 1


@pytest.mark.parametrize("outcome", ["", "  ", "o" * 201, None])
def test_close_needs_an_outcome(app, client, alice, outcome):
    case_id = open_case(client, app)
    assert close(client, case_id, alice, outcome).status_code == 422
    assert load_case(app, case_id).status == "open"


def test_close_errors(app, client, alice):
    assert close(client, 4242, alice).status_code == 404
    case_id = open_case(client, app)
    assert close(client, case_id, {}).status_code == 401
    assert client.post(f"/api/cases/{case_id}/close", json={}, headers=alice).status_code == 422
    assert close(client, case_id, alice, "o" * 200).status_code == 200


def test_stages_from_first_text_to_reopening(app, client, alice):
    case_id = open_case(client, app)
    assert load_case(app, case_id).stage == "collecting"
    assert claim(client, case_id, alice).json()["stage"] == "with_operator"
    assert close(client, case_id, alice).json()["stage"] == "closed"
    text_in(client, "sorry, they are back")
    case = load_case(app, case_id)
    assert case.status == "open"
    assert case.stage == "with_operator"  # reopened with its operator
    assert case.open_reporter_id == case.reporter_id
    # Reopened: the operator can act on it again.
    resp = client.post(f"/api/cases/{case_id}/messages", json={"body": "where now?"},
                       headers=alice)
    assert resp.status_code == 201


def test_new_text_after_the_reopen_window_opens_a_new_case(app, client, alice):
    case_id = open_case(client, app)
    assert close(client, case_id, alice).status_code == 200
    update_case(app, case_id, closed_at=utcnow() - timedelta(hours=25))
    text_in(client, "something else happened at york")
    with app.state.sessions() as s:
        cases = s.execute(
            select(Case).join(Reporter, Reporter.id == Case.reporter_id)
            .where(Reporter.phone == PHONE).order_by(Case.id)
        ).scalars().all()
    assert [c.status for c in cases] == ["closed", "open"]
    assert cases[0].id == case_id
    assert cases[1].open_reporter_id == cases[1].reporter_id
    # That new case can itself be closed, and the next late text opens a third.
    assert close(client, cases[1].id, alice).status_code == 200
    update_case(app, cases[1].id, closed_at=utcnow() - timedelta(hours=25))
    text_in(client, "and again")
    with app.state.sessions() as s:
        open_count = s.execute(
            select(func.count()).select_from(Case).join(Reporter, Reporter.id == Case.reporter_id)
            .where(Reporter.phone == PHONE, Case.status == "open")
        ).scalar_one()
        total = s.execute(select(func.count()).select_from(Case)).scalar_one()
    assert (open_count, total) == (1, 3)


def test_case_events_are_published_after_commit(app, client, alice):
    case_id = open_case(client, app)
    seen = []

    def listener(event):  # type: ignore[no-untyped-def]
        # Run as each event is delivered: what a dashboard reloading now would read.
        seen.append((event.kind, event.case_id, event.data.get("action"),
                     load_case(app, event.case_id).status))

    app.state.runtime.events.add_listener(listener)
    claim(client, case_id, alice)
    note(client, case_id, alice)
    decide(client, case_id, alice)
    close(client, case_id, alice)
    assert seen == [(Kind.CASE_UPDATED, case_id, "claim", "open"),
                    (Kind.MESSAGE_NEW, case_id, None, "open"),
                    (Kind.CASE_UPDATED, case_id, "decision", "open"),
                    (Kind.CASE_UPDATED, case_id, "close", "closed")]


def test_failed_actions_publish_nothing(app, client, alice):
    case_id = open_case(client, app)
    seen = []
    app.state.runtime.events.add_listener(seen.append)
    assert close(client, case_id, alice, "").status_code == 422
    assert decide(client, 4242, alice).status_code == 404
    update_case(app, case_id, discreet=True)
    assert client.post(f"/api/cases/{case_id}/messages", json={"body": "hi"},
                       headers=alice).status_code == 409
    assert seen == []


def test_audit_chain_stays_intact_through_every_action(app, client, alice, bob):
    case_id = open_case(client, app)
    client.post(f"/api/cases/{case_id}/messages", json={"body": "hello"}, headers=alice)
    claim(client, case_id, bob)
    note(client, case_id, bob)
    decide(client, case_id, bob, decision="101", queue="general", reason="not now")
    close(client, case_id, bob)
    with app.state.sessions() as s:
        result = verify(s)
        internal = s.execute(select(Message).where(Message.direction == "internal")).scalars().all()
    assert result.ok and result.events >= 6
    assert [m.author for m in internal] == ["note:bob"]


def test_the_dispatcher_does_not_move_a_human_decision_back(app, client, alice):
    case_id = open_case(client, app, "man with a knife on platform 4 at leeds, happening now")
    auto = load_case(app, case_id)
    assert (auto.decision, auto.priority) == ("999", "P1")
    assert not auto.decision_by.startswith("operator:")
    assert claim(client, case_id, alice).status_code == 200
    resp = decide(client, case_id, alice, decision="101", queue="general",
                  reason="spoke to caller: it was a toy, and yesterday")
    assert resp.json()["priority"] == "P2"
    text_in(client, "yes that's right, platform 4")
    case = load_case(app, case_id)
    assert (case.decision, case.decision_by) == ("101", "operator:alice")


@pytest.mark.parametrize(
    "thanks",
    ["thank you so much, the police are here now", "cheers, officers have arrived", "thanks"],
)
def test_a_thank_you_after_closing_is_kept_on_the_closed_case(app, client, alice, thanks):
    case_id = open_case(client, app, "a man was rude to the guard at leeds yesterday")
    text_in(client, "im 40")
    before = load_case(app, case_id)
    assert (before.decision, before.priority) == ("101", "P3")
    assert close(client, case_id, alice).status_code == 200
    with app.state.sessions() as s:
        bot_before = s.execute(select(func.count(Message.id)).where(
            Message.author == "bot")).scalar_one()
    text_in(client, thanks)
    after = load_case(app, case_id)
    assert after.status == "closed" and after.stage == "closed"  # nothing to act on
    assert after.closed_at is not None and after.open_reporter_id is None
    assert (after.decision, after.queue, after.priority) == ("101", "general", "P3")
    assert after.facts == before.facts
    with app.state.sessions() as s:
        last = s.execute(select(Message).where(Message.case_id == case_id)
                         .order_by(Message.id.desc()).limit(1)).scalar_one()
        bot_after = s.execute(select(func.count(Message.id)).where(
            Message.author == "bot")).scalar_one()
        cases = s.execute(select(func.count(Case.id))).scalar_one()
    assert (last.direction, last.body) == ("inbound", thanks)  # in the transcript
    assert bot_after == bot_before  # and unanswered
    assert cases == 1
    [kept] = audits(app, "case.kept_closed")
    assert kept.case_id == case_id and kept.data == {"reason": "thanks"}
    assert audits(app, "case.reopened") == []
    # Anything more than thanks still reopens it, as any text within the window.
    text_in(client, "they are back again")
    assert load_case(app, case_id).status == "open"


def test_a_new_danger_after_closing_still_raises_the_reopened_case(app, client, alice):
    case_id = open_case(client, app, "a man was rude to the guard at leeds yesterday")
    text_in(client, "im 40")
    assert close(client, case_id, alice).status_code == 200
    text_in(client, "thanks but hes back now and hes got a knife")
    after = load_case(app, case_id)
    assert (after.decision, after.priority) == ("999", "P1")
