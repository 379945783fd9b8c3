"""Linking by hand and by proposal: the reasons audited, the refusals clear, the decision
the most urgent, a 999 told live to every page showing one of the incident's cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.auth.service import Principal
from app.cases import actions as case_actions
from app.inbox.reader import process_pending
from app.kit.db import unit_of_work
from app.kit.events import Kind
from app.models import AuditEvent, Case, Incident, IncidentProposal
from tests.helpers import token_for
from tests.incidents.crowd import arrive, phone

NOW = datetime.now(UTC)


def _cases(rt) -> list[Case]:  # type: ignore[no-untyped-def]
    with rt.sessions() as session:
        return list(session.execute(select(Case).order_by(Case.id)).scalars())


def _events(rt, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with rt.sessions() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.seq)).scalars())


def test_a_weaker_match_is_proposed_never_linked_and_an_operator_links_it(client) -> None:  # type: ignore[no-untyped-def]
    rt = client.app.state.runtime
    arrive(rt, [(phone(1), "fight on the 09:10 derby to nottingham now", NOW - timedelta(minutes=25)),
                (phone(2), "theres a fight on the 09:10 derby to nottingham", NOW - timedelta(minutes=5))])
    process_pending(rt)
    first, second = _cases(rt)
    assert first.incident_id is None and second.incident_id is None
    with rt.sessions() as session:
        proposal = session.execute(select(IncidentProposal)).scalar_one()
    assert (proposal.case_id, proposal.other_case_id) == (second.id, first.id)
    assert proposal.rule == "same-place-same-risk-later" and proposal.state == "open"
    [proposed] = _events(rt, "incident.proposed")
    assert proposed.data["evidence"]["minutes_apart"] == 20.0

    headers = token_for(client.app)
    resp = client.post("/api/incidents/link", headers=headers, json={
        "case_id": second.id, "to_case_id": first.id, "reason": "same lads, same carriage"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert sorted(body["case_ids"]) == [first.id, second.id]
    assert {c["linked_by"] for c in body["cases"]} == {"operator:operator_user"}
    links = _events(rt, "incident.linked")
    assert [e.data["reason"] for e in links] == ["same lads, same carriage"] * 2
    assert all(e.actor == "operator_user" and e.data["rule"] == "operator" for e in links)
    with rt.sessions() as session:
        assert session.get(IncidentProposal, proposal.id).state == "linked"  # type: ignore[union-attr]
    # Case JSON carries it.
    assert client.get(f"/api/cases/{second.id}", headers=headers).json()["incident_id"] == body["id"]


def test_refusals_say_why(client) -> None:  # type: ignore[no-untyped-def]
    rt = client.app.state.runtime
    arrive(rt, [(phone(1), "fight at platform 4 clapham junction now", NOW - timedelta(minutes=3)),
                (phone(2), "people fighting at clapham junction platform 4", NOW - timedelta(minutes=2)),
                (phone(3), "my bag was stolen at leeds station", NOW - timedelta(minutes=1)),
                (phone(4), "someone nicked my phone at york station", NOW - timedelta(minutes=1))])
    process_pending(rt)
    a, b, c, d = _cases(rt)
    assert a.incident_id is not None and a.incident_id == b.incident_id
    headers = token_for(client.app)

    def link(**body: object):  # type: ignore[no-untyped-def]
        return client.post("/api/incidents/link", headers=headers,
                           json={"reason": "looks the same", **body})

    resp = link(case_id=c.id, to_case_id=c.id)
    assert resp.status_code == 409 and resp.json()["detail"] == "a case cannot be linked to itself"
    resp = link(case_id=b.id, to_case_id=a.id)
    assert resp.status_code == 409 and "already part of" in resp.json()["detail"]
    assert link(case_id=c.id).status_code == 422
    assert client.post("/api/incidents/link", headers=headers,
                       json={"case_id": c.id, "to_case_id": a.id}).status_code == 422
    assert link(case_id=c.id, to_case_id=2**31 - 1).status_code == 404

    # A closed case older than the window.
    with unit_of_work(rt.sessions) as session:
        case_actions.close(session, d.id, Principal(1, "operator_user", "operator", "token"), "done",
                           now=NOW - timedelta(minutes=45))
    resp = link(case_id=c.id, to_case_id=d.id)
    assert resp.status_code == 409
    assert resp.json()["detail"].endswith("longer than the incident window: it cannot be linked")

    # c joins the fight by hand; split off again, it goes into an incident of its own, which is
    # linked into the fight's: linking the fight's back into it would be a loop.
    made = link(case_id=c.id, to_case_id=a.id).json()
    assert made["id"] == a.incident_id
    resp = link(case_id=c.id, to_incident_id=a.incident_id)
    assert resp.status_code == 409
    with rt.sessions() as session:
        other = Incident(status="open", reference="IN-TEST-0001", created_at=NOW, updated_at=NOW)
        session.add(other)
        session.commit()
        other_id = other.id
    unlinked = client.post(f"/api/incidents/{a.incident_id}/unlink", headers=headers,
                           json={"case_id": c.id, "reason": "different thing after all"})
    assert unlinked.status_code == 200, unlinked.text
    assert c.id not in unlinked.json()["case_ids"]
    moved = link(case_id=c.id, to_incident_id=other_id)
    assert moved.status_code == 200, moved.text
    merged = link(incident_id=other_id, to_incident_id=a.incident_id)
    assert merged.status_code == 200, merged.text
    back = link(incident_id=a.incident_id, to_incident_id=other_id)
    assert back.status_code == 409
    assert "would make a loop" in back.json()["detail"]
    [split] = _events(rt, "incident.unlinked")
    assert split.data["reason"] == "different thing after all" and split.case_id == c.id


def test_the_incident_takes_the_most_urgent_decision_and_a_999_reaches_every_case(client) -> None:  # type: ignore[no-untyped-def]
    rt = client.app.state.runtime
    heard: list = []
    rt.events.add_listener(heard.append)
    arrive(rt, [(phone(1), "fight on the 10:15 york to leeds", NOW - timedelta(minutes=4)),
                (phone(2), "theres a fight on the 10:15 york to leeds", NOW - timedelta(minutes=3))])
    process_pending(rt)
    a, b = _cases(rt)
    assert a.priority == b.priority == "P3" and a.incident_id == b.incident_id
    with rt.sessions() as session:
        assert session.get(Incident, a.incident_id).priority == "P3"  # type: ignore[union-attr]
    heard.clear()
    arrive(rt, [(phone(3), "massive fight happening now on the 10:15 york to leeds",
                 NOW - timedelta(minutes=1))])
    process_pending(rt)
    c = _cases(rt)[2]
    assert c.incident_id == a.incident_id and c.decision == "999"
    with rt.sessions() as session:
        incident = session.get(Incident, a.incident_id)
        assert (incident.decision, incident.priority) == ("999", "P1")  # type: ignore[union-attr]
    told = {e.case_id for e in heard if e.kind == Kind.INCIDENT_EMERGENCY}
    assert told == {a.id, b.id, c.id}

    headers = token_for(client.app)
    resp = client.post(f"/api/incidents/{a.incident_id}/decision", headers=headers,
                       json={"decision": "101", "queue": "general",
                             "reason": "officers on board, it is over"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["priority"] == "P2" and resp.json()["decision_by"] == "operator:operator_user"
    # A further report of the same urgency does not undo the person's decision.
    arrive(rt, [(phone(4), "fight now on the 10:15 york to leeds, blood", NOW)])
    process_pending(rt)
    with rt.sessions() as session:
        assert session.get(Incident, a.incident_id).decision == "101"  # type: ignore[union-attr]
    [override] = _events(rt, "incident.decision.override")
    assert override.data["reason"] == "officers on board, it is over"


def test_shared_words_are_counted_in_the_audit_log_and_removed_by_retention(client) -> None:  # type: ignore[no-untyped-def]
    from app.audit.retention import REDACTED, run_retention

    rt = client.app.state.runtime
    long_ago = NOW - timedelta(days=400)
    arrive(rt, [(phone(1), "ginger lad in a green hoodie shouting at york station",
                 long_ago),
                (phone(2), "someone stole my phone, ginger lad green hoodie, york station",
                 long_ago + timedelta(minutes=2))])
    process_pending(rt)
    first, second = _cases(rt)
    with rt.sessions() as session:
        proposal = session.execute(select(IncidentProposal)).scalar_one()
    assert proposal.rule == "same-place-same-words"
    assert {"ginger", "hoodie", "green"} <= set(proposal.evidence["words"])
    [proposed] = _events(rt, "incident.proposed")
    assert "words" not in proposed.data["evidence"]
    assert proposed.data["evidence"]["shared_words"] == len(proposal.evidence["words"])

    principal = Principal(1, "operator_user", "operator", "token")
    with unit_of_work(rt.sessions) as session:
        for case in (first, second):
            case_actions.close(session, case.id, principal, "done",
                               now=long_ago + timedelta(hours=1))
    run_retention(rt.sessions, now=NOW, retention_days=365, reopen_hours=24)
    with rt.sessions() as session:
        assert session.get(IncidentProposal, proposal.id).evidence["words"] == [REDACTED]  # type: ignore[union-attr]
