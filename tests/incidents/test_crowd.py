"""Twenty passengers, one fight on one train, their own words: one incident at P1, every link
explained in the audit log; a theft on the same train ten minutes later stays apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.inbox.reader import process_pending
from app.models import AuditEvent, Case, Incident
from tests.helpers import token_for
from tests.incidents.crowd import THEFT, arrive, crowd, phone


def test_a_crowd_reporting_one_fight_is_one_incident_at_p1(client) -> None:  # type: ignore[no-untyped-def]
    rt = client.app.state.runtime
    start = datetime.now(UTC) - timedelta(minutes=20)
    arrive(rt, crowd(start))
    assert process_pending(rt) == 20
    arrive(rt, [(phone(99), THEFT, start + timedelta(minutes=15))])
    assert process_pending(rt) == 1

    with rt.sessions() as session:
        incidents = session.execute(select(Incident)).scalars().all()
        cases = session.execute(select(Case).order_by(Case.id)).scalars().all()
        links = session.execute(select(AuditEvent).where(AuditEvent.action == "incident.linked")
                                ).scalars().all()
    assert len(incidents) == 1
    incident = incidents[0]
    assert incident.priority == "P1" and incident.decision == "999"
    fight, theft = cases[:20], cases[20]
    assert {c.incident_id for c in fight} == {incident.id}
    assert theft.incident_id is None
    assert theft.place_key == fight[0].place_key == "train:14:32 york to leeds"
    # Every link says why: the rule and its evidence.
    assert sorted(e.case_id for e in links) == sorted(c.id for c in fight)
    for event in links:
        assert event.data["rule"] == "same-place-same-risk"
        assert event.data["evidence"]["place"] == "train:14:32 york to leeds"
        assert event.data["evidence"]["indicators"] == ["violence"]
        assert event.data["evidence"]["minutes_apart"] <= 10

    headers = token_for(client.app)
    listed = client.get("/api/incidents", headers=headers)
    assert listed.status_code == 200, listed.text
    assert [i["id"] for i in listed.json()["items"]] == [incident.id]
    one = client.get(f"/api/incidents/{incident.id}", headers=headers).json()
    assert one["priority"] == "P1" and one["texters"] == 20
    assert sorted(c["id"] for c in one["cases"]) == sorted(c.id for c in fight)
    case_json = client.get(f"/api/cases/{fight[3].id}", headers=headers).json()
    assert case_json["incident_id"] == incident.id
    assert client.get(f"/api/cases/{theft.id}", headers=headers).json()["incident_id"] is None
