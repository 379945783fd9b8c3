"""A person's override: a queue someone watches, a priority that fits, a 999 stood down only by
someone who answers for the case with a real reason, and every decision kept for the record."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Column, MetaData, Table, create_engine, delete, inspect, select
from sqlalchemy.orm import Session

from app.audit.retention import run_retention
from app.kit import migrate
from app.kit.config import Settings
from app.kit.db import utcnow
from app.main import create_app
from app.models import AuditEvent, Case, CaseDecision, Reporter
from tests.cases.test_actions_helpers import audits, load_case, open_case, update_case
from tests.dashboard.signin import sign_in
from tests.helpers import token_for

KNIFE = "man with a knife on platform 4 at leeds, happening now"
GOOD_REASON = "spoke to caller: it was a toy, and yesterday"


@pytest.fixture
def alice(app):  # type: ignore[no-untyped-def]
    return token_for(app, "operator", "alice")


def decide(client, case_id, headers, **payload):  # type: ignore[no-untyped-def]
    body = {"decision": "999", "queue": "emergency", "reason": "caller says knife seen", **payload}
    return client.post(f"/api/cases/{case_id}/decision", json=body, headers=headers)


def detail(client, case_id, headers):  # type: ignore[no-untyped-def]
    resp = client.get(f"/api/cases/{case_id}", headers=headers)
    assert resp.status_code == 200
    return resp.json()


def columns(app, case_id):  # type: ignore[no-untyped-def]
    case = load_case(app, case_id)
    return case.decision, case.queue, case.priority, case.decision_by


# the queue

@pytest.mark.parametrize("queue,hint", [
    ("safegaurding", "did you mean 'safeguarding'?"),
    ("Emergency", "did you mean 'emergency'?"),
    ("no such queue!", None),
])
def test_a_queue_not_in_the_routing_file_is_refused(app, client, alice, queue, hint):
    case_id = open_case(client, app)
    before = columns(app, case_id)
    resp = decide(client, case_id, alice, decision="101", queue=queue)
    assert resp.status_code == 422
    detail_text = resp.json()["detail"]
    assert "not one of the routing file's queues: emergency, safeguarding, general" in detail_text
    if hint:
        assert hint in detail_text
    else:
        assert "did you mean" not in detail_text
    assert columns(app, case_id) == before
    assert audits(app, "decision.override") == []


def test_the_queues_are_those_of_the_file_the_server_runs_with(settings_kwargs, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - name: severe\n"
        "    when: {risk_any: [weapon]}\n"
        "    then: {decision: '999', queue: control, priority: P1}\n"
        "  - name: routine\n"
        "    then: {decision: '101', queue: scotland, priority: P3}\n")
    app = create_app(Settings(**{**settings_kwargs, "routing_file": rules}))
    headers = token_for(app, "operator", "alice")
    with TestClient(app, base_url="https://textline.example.org") as client:
        case_id = open_case(client, app)
        refused = decide(client, case_id, headers, decision="101", queue="general")
        assert refused.status_code == 422
        assert "queues: control, scotland" in refused.json()["detail"]
        assert decide(client, case_id, headers, queue="control").status_code == 200
        assert load_case(app, case_id).queue == "control"
        sign_in(client, app, "carol")
        page = client.get(f"/cases/{case_id}").text
    assert '<option value="control" selected>control</option>' in page
    assert '<option value="scotland" >scotland</option>' in page
    assert 'value="general"' not in page


# the priority

def test_the_priority_is_set_with_the_decision_and_must_fit_it(app, client, alice):
    case_id = open_case(client, app)
    resp = decide(client, case_id, alice, decision="101", queue="safeguarding", priority="P3",
                  reason="known to the local team")
    assert resp.status_code == 200
    assert resp.json()["priority"] == "P3"
    [event] = audits(app, "decision.override")
    assert event.data["new"] == {"decision": "101", "queue": "safeguarding", "priority": "P3"}
    for payload, words in (({"decision": "101", "priority": "P1"}, "P2 or P3"),
                           ({"decision": "999", "priority": "P2"}, "always priority P1"),
                           ({"decision": "999", "priority": "P4"}, "priority")):
        before = columns(app, case_id)
        refused = decide(client, case_id, alice, **payload)
        assert refused.status_code == 422, payload
        assert words in refused.json()["detail"], payload
        assert columns(app, case_id) == before
    assert decide(client, case_id, alice, priority="P1").json()["priority"] == "P1"


# standing a 999 down

def test_only_the_holder_or_a_supervisor_may_stand_a_999_down(app, client, alice):
    bob = token_for(app, "operator", "bob")
    sam = token_for(app, "supervisor", "sam")
    case_id = open_case(client, app, KNIFE)
    assert columns(app, case_id)[:3] == ("999", "emergency", "P1")

    unclaimed = decide(client, case_id, alice, decision="101", queue="general",
                       reason=GOOD_REASON)
    assert unclaimed.status_code == 403
    assert "only a supervisor, or the operator who has claimed this case" in \
        unclaimed.json()["detail"]
    assert client.post(f"/api/cases/{case_id}/claim", headers=bob).status_code == 200
    assert decide(client, case_id, alice, decision="101", queue="general",
                  reason=GOOD_REASON).status_code == 403  # bob holds it, not alice
    assert columns(app, case_id)[0] == "999"
    assert audits(app, "decision.override") == []
    # Raising, or moving a 999 between queues, stays open to any operator.
    assert decide(client, case_id, alice, queue="emergency",
                  reason="second caller confirms").status_code == 200

    by_supervisor = decide(client, case_id, sam, decision="101", queue="general",
                           reason=GOOD_REASON)
    assert by_supervisor.status_code == 200
    assert columns(app, case_id) == ("101", "general", "P2", "operator:sam")


@pytest.mark.parametrize("reason", ["x", "not urgent", "ok ok ok", "- - - - - - - - -",
                                    "nothing to see"])
def test_standing_a_999_down_needs_a_reason_of_a_few_words(app, client, alice, reason):
    case_id = open_case(client, app, KNIFE)
    assert client.post(f"/api/cases/{case_id}/claim", headers=alice).status_code == 200
    resp = decide(client, case_id, alice, decision="101", queue="general", reason=reason)
    assert resp.status_code == 422
    assert "at least 3 words and 15 characters" in resp.json()["detail"]
    assert columns(app, case_id)[0] == "999"
    ok = decide(client, case_id, alice, decision="101", queue="general", priority="P3",
                reason="caller rang back: a toy gun")
    assert ok.status_code == 200 and ok.json()["priority"] == "P3"


def test_the_form_says_why_a_stand_down_is_refused(app, client):
    csrf = sign_in(client, app, "alice")
    case_id = open_case(client, app, KNIFE)
    form = {"decision": "101", "queue": "general", "priority": "P2", "reason": GOOD_REASON,
            "csrf_token": csrf}
    refused = client.post(f"/cases/{case_id}/decision", data=form)
    assert refused.status_code == 403
    assert "claim the case first, or ask a supervisor" in refused.text
    assert client.post(f"/cases/{case_id}/claim", data={"csrf_token": csrf}).status_code == 200
    short = client.post(f"/cases/{case_id}/decision", data={**form, "reason": "x"})
    assert short.status_code == 422 and "at least 3 words" in short.text
    assert '<option value="general" selected>' in short.text  # the choices are kept
    assert '<option value="P2" data-decision="101" selected>' in short.text
    done = client.post(f"/cases/{case_id}/decision", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert columns(app, case_id) == ("101", "general", "P2", "operator:alice")


# the history

def test_every_decision_is_kept_in_the_case_json_and_on_the_page(app, client):
    sign_in(client, app, "alice")
    headers = token_for(app, "operator", "olly")
    case_id = open_case(client, app, KNIFE)
    assert client.post(f"/api/cases/{case_id}/claim", headers=headers).status_code == 200
    assert decide(client, case_id, headers, decision="101", queue="general",
                  reason=GOOD_REASON).status_code == 200
    assert decide(client, case_id, headers, decision="101", queue="safeguarding", priority="P3",
                  reason="known to the local team").status_code == 200

    history = detail(client, case_id, headers)["decisions"]
    assert [(d["decision"], d["queue"], d["priority"], d["by"], d["rule"]) for d in history] == [
        ("999", "emergency", "P1", "dispatcher", history[0]["rule"]),
        ("101", "general", "P2", "operator:olly", "override"),
        ("101", "safeguarding", "P3", "operator:olly", "override"),
    ]
    assert history[0]["rule"] and "happening now" in history[0]["reasons"]
    assert any("knife" in r for r in history[0]["reasons"])
    assert history[1]["reasons"] == [GOOD_REASON]
    times = [datetime.fromisoformat(d["at"]) for d in history]
    assert times == sorted(times)
    assert history[-1]["at"] == detail(client, case_id, headers)["decision"]["at"]
    listed = client.get("/api/cases", headers=headers).json()["items"]
    assert [c["decisions"] for c in listed] == [None]  # like messages: one case at a time

    page = client.get(f"/cases/{case_id}").text
    assert "Earlier decisions" in page
    earlier = page[page.index('id="decision-history"'):]
    earlier = earlier[:earlier.index("</ol>")]
    assert "by dispatcher" in earlier and "by operator:olly" in earlier
    assert GOOD_REASON in earlier and "known to the local team" not in earlier  # that one is current


def test_a_case_decided_before_the_history_still_shows_its_decision(app, client, alice):
    case_id = open_case(client, app)
    with app.state.sessions() as s:
        s.execute(delete(CaseDecision))
        s.commit()
    update_case(app, case_id, decision="101", queue="general", priority="P3",
                decision_by="dispatcher", decision_rule="routine",
                decision_reasons=["nothing urgent known"], decision_at=utcnow())
    [only] = detail(client, case_id, alice)["decisions"]
    assert (only["decision"], only["queue"], only["priority"], only["by"], only["rule"],
            only["reasons"]) == ("101", "general", "P3", "dispatcher", "routine",
                                 ["nothing urgent known"])


def test_retention_takes_the_texter_s_words_out_of_earlier_decisions(app, client, alice):
    case_id = open_case(client, app, KNIFE)
    assert client.post(f"/api/cases/{case_id}/claim", headers=alice).status_code == 200
    assert decide(client, case_id, alice, decision="101", queue="general",
                  reason=GOOD_REASON).status_code == 200
    assert client.post(f"/api/cases/{case_id}/close", json={"outcome": "advice given"},
                       headers=alice).status_code == 200
    update_case(app, case_id, closed_at=utcnow() - timedelta(days=400))
    run_retention(app.state.sessions, now=utcnow(), retention_days=365)
    with app.state.sessions() as s:
        first = s.execute(select(CaseDecision).where(CaseDecision.case_id == case_id)
                          .order_by(CaseDecision.id)).scalars().first()
    assert first is not None and first.decision == "999"
    assert "weapon" in first.reasons
    assert not any("knife" in r for r in first.reasons)


def _as_migrated(engine: Any, model: Any) -> Table:
    """The model's table with only the columns the database has now, each with its type and
    default: rows written the way the code of that revision wrote them."""
    have = {c["name"] for c in inspect(engine).get_columns(model.__tablename__)}
    return Table(model.__tablename__, MetaData(), *[
        Column(c.name, c.type, primary_key=c.primary_key,
               default=c.default.arg if c.default is not None else None)
        for c in model.__table__.columns if c.name in have])


def test_the_upgrade_builds_each_case_s_history_from_the_audit_log(database_url):
    migrate.downgrade(database_url, "0007")
    engine = create_engine(database_url)
    t0 = utcnow() - timedelta(hours=2)
    try:
        # Written as at revision 0007: the models have columns later revisions added.
        reporters, cases, audit = (_as_migrated(engine, m) for m in (Reporter, Case, AuditEvent))
        with engine.begin() as conn:
            reporter_id = conn.execute(reporters.insert().values(
                phone="+447700900123", opted_out=False, created_at=t0
            ).returning(reporters.c.id)).scalar_one()

            def add_case(**values: object) -> int:
                return conn.execute(cases.insert().values(
                    reporter_id=reporter_id, created_at=t0, updated_at=t0, **values
                ).returning(cases.c.id)).scalar_one()

            overridden = add_case(
                reference="TL-1", status="open", decision="101", queue="general",
                priority="P2", decision_by="operator:alice", decision_rule="override",
                decision_reasons=["it was yesterday, rang back"],
                decision_at=t0 + timedelta(minutes=5))
            untracked = add_case(
                reference="TL-2", status="closed", decision="101", queue="general",
                priority="P3", decision_by=None, decision_rule="routine",
                decision_reasons=["nothing urgent known"], decision_at=t0)
            undecided = add_case(reference="TL-3", status="closed")
            made = {"decision": "999", "queue": "emergency", "priority": "P1",
                    "rule": "now_severe", "reasons": ["happening now", "weapon"],
                    "previous": None}
            override = {"previous": {"decision": "999"}, "reason": "it was yesterday, rang back",
                        "new": {"decision": "101", "queue": "general", "priority": "P2"}}
            for seq, (actor, action, data, minutes) in enumerate([
                ("dispatcher", "decision.made", made, 0),
                ("alice", "case.viewed", {"via": "api"}, 3),
                ("alice", "decision.override", override, 5),
            ], start=1):
                conn.execute(audit.insert().values(
                    seq=seq, at=t0 + timedelta(minutes=minutes), actor=actor, action=action,
                    case_id=overridden, data=data, prev_hash="0" * 64, hash=f"{seq:064d}"))
            ids = overridden, untracked, undecided
        migrate.upgrade(database_url)
        with Session(engine) as s:
            rows = s.execute(select(CaseDecision).order_by(CaseDecision.id)).scalars().all()
    finally:
        engine.dispose()
        migrate.upgrade(database_url)  # the schema is shared with the tests after this one
    got = [(r.case_id, r.decision, r.queue, r.priority, r.by, r.rule, r.reasons) for r in rows]
    assert got == [
        (ids[0], "999", "emergency", "P1", "dispatcher", "now_severe", ["happening now", "weapon"]),
        (ids[0], "101", "general", "P2", "operator:alice", "override",
         ["it was yesterday, rang back"]),
        (ids[1], "101", "general", "P3", "dispatcher", "routine", ["nothing urgent known"]),
    ]
    assert rows[0].at == t0 and rows[1].at == t0 + timedelta(minutes=5)
