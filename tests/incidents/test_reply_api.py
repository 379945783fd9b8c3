"""Texting an incident's reporters through the JSON API: all who may be texted, or one; never
a discreet or opted-out reporter, who is named in the answer with the reason; audited as the
incident page's reply is; its text validated as every API text is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.inbox.reader import process_pending
from app.models import AuditEvent, Case, Message, Outbox
from tests.helpers import token_for
from tests.incidents.crowd import FIGHT, THEFT, arrive, phone

DISCREET = "cant talk they can see my phone. fight on the 14:32 york to leeds coach C"


def _incident(rt) -> tuple[int, list[Case], Case]:  # type: ignore[no-untyped-def]
    """Four reports of one fight (the third discreet, the fourth then sends STOP) and a theft
    elsewhere on the train, in no incident."""
    now = datetime.now(UTC)
    bodies = [FIGHT[0], FIGHT[1], DISCREET, FIGHT[3]]
    arrive(rt, [(phone(i), body, now - timedelta(minutes=4 - i)) for i, body in enumerate(bodies)])
    arrive(rt, [(phone(9), THEFT, now - timedelta(seconds=30))])
    process_pending(rt)
    arrive(rt, [(phone(3), "STOP", now)])
    process_pending(rt)
    with rt.sessions() as session:
        cases = list(session.execute(select(Case).order_by(Case.id)).scalars())
    fight, theft = cases[:4], cases[4]
    assert len({c.incident_id for c in fight}) == 1 and theft.incident_id is None
    assert fight[2].discreet
    return fight[0].incident_id, fight, theft  # type: ignore[return-value]


def _operator_texts(rt) -> dict[int, list[str]]:  # type: ignore[no-untyped-def]
    with rt.sessions() as session:
        rows = session.execute(select(Message.case_id, Message.body).join(
            Outbox, Outbox.message_id == Message.id).where(
            Message.author == "operator:operator_user").order_by(Message.id)).all()
    texts: dict[int, list[str]] = {}
    for case_id, body in rows:
        texts.setdefault(case_id, []).append(body)
    return texts


def test_a_reply_to_all_texts_those_who_may_be_texted_and_names_the_rest(client) -> None:  # type: ignore[no-untyped-def]
    rt = client.app.state.runtime
    incident_id, fight, _ = _incident(rt)
    headers = token_for(client.app)

    resp = client.post(f"/api/incidents/{incident_id}/messages", headers=headers,
                       json={"body": "  Officers are on their way  "})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["incident_id"] == incident_id
    assert [s["case_id"] for s in body["sent"]] == [fight[0].id, fight[1].id]
    assert [s["reference"] for s in body["sent"]] == [fight[0].reference, fight[1].reference]
    assert [(s["case_id"], s["reason"]) for s in body["skipped"]] == [
        (fight[2].id, "discreet: asked not to be texted"), (fight[3].id, "opted out (STOP)")]
    assert _operator_texts(rt) == {fight[0].id: ["Officers are on their way"],
                                   fight[1].id: ["Officers are on their way"]}
    with rt.sessions() as session:
        sent_ids = set(session.execute(select(Message.id).where(
            Message.author == "operator:operator_user")).scalars())
        [event] = session.execute(select(AuditEvent).where(
            AuditEvent.action == "incident.replied")).scalars().all()
    assert {s["message_id"] for s in body["sent"]} == sent_ids
    assert event.actor == "operator_user" and event.data["via"] == "api"
    assert event.data["case_ids"] == [fight[0].id, fight[1].id]
    assert event.data["left_out"] == [fight[2].id, fight[3].id]
    assert event.data["left_out_why"][str(fight[2].id)].startswith("discreet")
    assert "Officers" not in str(event.data)  # the audit log counts the text, never keeps it


def test_a_reply_to_one_reporter_and_the_refusals(client) -> None:  # type: ignore[no-untyped-def]
    rt = client.app.state.runtime
    incident_id, fight, theft = _incident(rt)
    headers = token_for(client.app)
    url = f"/api/incidents/{incident_id}/messages"

    def send(**payload: object):  # type: ignore[no-untyped-def]
        return client.post(url, headers=headers, json={"body": "Are you safe?", **payload})

    resp = send(case_id=fight[1].id)
    assert resp.status_code == 201, resp.text
    assert [s["case_id"] for s in resp.json()["sent"]] == [fight[1].id]
    assert resp.json()["skipped"] == []

    resp = send(case_id=fight[2].id)
    assert resp.status_code == 409
    assert resp.json()["detail"] == (f"{fight[2].reference} is not texted from here: "
                                     "discreet: asked not to be texted")
    resp = send(case_id=fight[3].id)
    assert resp.status_code == 409 and "opted out (STOP)" in resp.json()["detail"]
    resp = send(case_id=theft.id)
    assert resp.status_code == 422
    assert resp.json()["detail"] == "that case is not one of this incident's"
    assert send().status_code == 201  # all: the first two again
    resp = client.post("/api/incidents/999999/messages", headers=headers, json={"body": "hi"})
    assert resp.status_code == 404 and resp.json()["detail"] == "no such incident"

    # Validated as every text typed into the API is (app/kit/validation.py).
    for bad in ({"body": "   "}, {"body": "a\x00b"}, {"body": "bell\x07"},
                {"body": "x" * 1601}, {"body": "hi", "to": "all"}, {"body": "hi", "case_id": 0},
                {"body": "hi", "case_id": "all"}, {}):
        resp = client.post(url, headers=headers, json=bad)
        assert resp.status_code == 422, (bad, resp.text)
    assert client.post("/api/incidents/0/messages", headers=headers,
                       json={"body": "hi"}).status_code == 422
    assert client.post(url, json={"body": "hi"}).status_code == 401

    assert _operator_texts(rt) == {fight[0].id: ["Are you safe?"],
                                   fight[1].id: ["Are you safe?", "Are you safe?"]}


def test_an_incident_nobody_may_be_texted_from_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    rt = client.app.state.runtime
    now = datetime.now(UTC)
    arrive(rt, [(phone(0), DISCREET, now - timedelta(minutes=2)),
                (phone(1), "cant talk. fight on the 14:32 york to leeds coach C",
                 now - timedelta(minutes=1))])
    process_pending(rt)
    with rt.sessions() as session:
        cases = list(session.execute(select(Case).order_by(Case.id)).scalars())
    assert cases[0].incident_id == cases[1].incident_id is not None
    assert all(c.discreet for c in cases)
    resp = client.post(f"/api/incidents/{cases[0].incident_id}/messages",
                       headers=token_for(client.app), json={"body": "Officers are coming"})
    assert resp.status_code == 409
    assert resp.json()["detail"] == "no reporter of this incident can be texted"
    assert _operator_texts(rt) == {}
