"""Outside the dashboard: the CAD-style integration hears of each case that joins an incident
(signed, through the outbox), the cases export carries incident_id, and the supervisor's
figures count incidents beside cases."""

from __future__ import annotations

import csv
import io
import json
from collections import deque
from datetime import UTC, datetime, timedelta

import pytest

from app.inbox.reader import process_pending
from app.sms.integration import SIGNATURE_HEADER, IntegrationSender, signature_valid
from app.sms.providers import ConsoleProvider
from app.sms.worker import drain_once
from tests.dashboard.signin import sign_in
from tests.dispatch.test_integration_webhook import SECRET, Receiver
from tests.dispatch.test_integration_webhook import receiver as receiver
from tests.helpers import token_for
from tests.incidents.crowd import FIGHT, arrive, phone


@pytest.fixture
def settings_kwargs(settings_kwargs, receiver):  # type: ignore[no-untyped-def]
    return {**settings_kwargs, "integration_url": receiver.url, "integration_secret": SECRET}


def test_joining_cases_are_told_to_the_integration_exported_and_counted(
        client, receiver: Receiver) -> None:
    rt = client.app.state.runtime
    now = datetime.now(UTC)
    arrive(rt, [(phone(i), body, now - timedelta(minutes=3 - i)) for i, body in enumerate(FIGHT[:3])])
    assert process_pending(rt) == 3
    while drain_once(rt, now=datetime.now(UTC) + timedelta(seconds=1),
                     provider=ConsoleProvider(deque()),
                     integration=IntegrationSender(rt.settings, timeout=2)):
        pass
    bodies = [json.loads(body) for _, body, _ in receiver.requests]
    assert all(signature_valid(SECRET, body, headers[SIGNATURE_HEADER.lower()])
               for headers, body, _ in receiver.requests)
    joined = [b for b in bodies if b["event"] == "incident.case_joined"]
    assert len(joined) == 3  # the first two when the second made the incident, then the third
    incident_id = joined[0]["incident"]["id"]
    assert {b["case"]["incident_id"] for b in joined} == {incident_id}
    assert sorted(joined[-1]["incident"]["case_ids"]) == [1, 2, 3]
    assert joined[-1]["incident"]["priority"] == "P1"
    assert "phone" not in json.dumps(joined)  # no texter's number in an incident update

    headers = token_for(client.app, "supervisor")
    first, last = (now + timedelta(days=d) for d in (-1, 1))  # whatever the local midnight
    resp = client.get(f"/api/exports/cases.csv?from={first.date()}&to={last.date()}",
                      headers=headers)
    assert resp.status_code == 200, resp.text
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [r["incident_id"] for r in rows] == [str(incident_id)] * 3

    sign_in(client, client.app, "sue", "supervisor")
    page = client.get("/supervisor")
    assert page.status_code == 200
    assert '<span class="sv-n" id="t-incidents">1</span>' in page.text
    assert '<span id="t-incident-reports">3</span>' in page.text


def _drain(rt) -> None:  # type: ignore[no-untyped-def]
    while drain_once(rt, now=datetime.now(UTC) + timedelta(seconds=1),
                     provider=ConsoleProvider(deque()),
                     integration=IntegrationSender(rt.settings, timeout=2)):
        pass


def test_a_persons_decision_for_an_incident_is_told_to_the_integration(
        client, receiver: Receiver) -> None:
    rt = client.app.state.runtime
    now = datetime.now(UTC)
    arrive(rt, [(phone(i), body, now - timedelta(minutes=3 - i)) for i, body in enumerate(FIGHT[:2])])
    assert process_pending(rt) == 2
    _drain(rt)
    before = len(receiver.requests)
    incident_id = client.get("/api/incidents", headers=token_for(client.app)).json()["items"][0]["id"]

    resp = client.post(f"/api/incidents/{incident_id}/decision",
                       headers=token_for(client.app, "supervisor"),
                       json={"decision": "101", "queue": "general", "priority": "P2",
                             "reason": "the two lads were separated by staff at York"})
    assert resp.status_code == 200, resp.text
    _drain(rt)
    new = receiver.requests[before:]
    assert len(new) == 1
    headers, raw, _ = new[0]
    assert signature_valid(SECRET, raw, headers[SIGNATURE_HEADER.lower()])
    body = json.loads(raw)
    assert body["event"] == "incident.decision" and body["version"] == 1
    assert body["incident"]["id"] == incident_id and body["incident"]["case_ids"] == [1, 2]
    assert (body["incident"]["decision"], body["incident"]["priority"]) == ("101", "P2")
    assert body["decision"]["by"] == "operator:supervisor_user"
    assert body["decision"]["reasons"] == ["the two lads were separated by staff at York"]
    assert body["previous"] == {"decision": "999", "priority": "P1",
                                "by": body["previous"]["by"]}
    assert body["previous"]["by"].startswith("case:TL-")
    assert "+4477" not in raw.decode()  # no texter's number in an incident update
