"""An operator holds at most TEXTLINE_MAX_CLAIMS open cases; a supervisor may go beyond it for
one case with a reason, and take a claim over or hand it on, audited."""

from __future__ import annotations

import pytest

from tests.cases.test_actions_helpers import audits, load_case, open_case
from tests.helpers import token_for


@pytest.fixture
def settings_kwargs(settings_kwargs):  # type: ignore[no-untyped-def]
    return {**settings_kwargs, "max_claims": 2}


def _cases(client, app, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    return [open_case(client, app, "a lad was shouting at me earlier at york",
                      f"+44770090060{i}") for i in range(n)]


def test_a_claim_beyond_the_cap_is_409_with_the_reason(app, client):
    op = token_for(app, "operator", "olly")
    a, b, c = _cases(client, app, 3)
    for case_id in (a, b):
        assert client.post(f"/api/cases/{case_id}/claim", headers=op).status_code == 200
    assert client.post(f"/api/cases/{a}/claim", headers=op).status_code == 200  # already held
    refused = client.post(f"/api/cases/{c}/claim", headers=op)
    assert refused.status_code == 409
    assert "already hold 2 open cases" in refused.json()["detail"]
    assert load_case(app, c).assigned_to_id is None
    # An operator's reason does not lift the cap.
    assert client.post(f"/api/cases/{c}/claim", json={"reason": "I know this texter"},
                       headers=op).status_code == 409
    # Closing one frees a place.
    assert client.post(f"/api/cases/{a}/close", json={"outcome": "Advice given"},
                       headers=op).status_code == 200
    assert client.post(f"/api/cases/{c}/claim", headers=op).status_code == 200


def test_a_reply_beyond_the_cap_is_sent_but_takes_no_claim(app, client):
    op = token_for(app, "operator", "olly")
    a, b, c = _cases(client, app, 3)
    for case_id in (a, b):
        client.post(f"/api/cases/{case_id}/claim", headers=op)
    assert client.post(f"/api/cases/{c}/messages", json={"body": "Are you safe?"},
                       headers=op).status_code == 201
    assert load_case(app, c).assigned_to_id is None


def test_a_supervisor_goes_beyond_the_cap_for_one_case_with_a_reason(app, client):
    sup = token_for(app, "supervisor", "sam")
    a, b, c = _cases(client, app, 3)
    for case_id in (a, b):
        assert client.post(f"/api/cases/{case_id}/claim", headers=sup).status_code == 200
    no_reason = client.post(f"/api/cases/{c}/claim", headers=sup)
    assert no_reason.status_code == 409 and "with a reason" in no_reason.json()["detail"]
    over = client.post(f"/api/cases/{c}/claim", json={"reason": "P1 surge, covering"},
                       headers=sup)
    assert over.status_code == 200 and over.json()["assigned_to"] == "sam"
    event = audits(app, "case.claimed")[-1]
    assert event.case_id == c and event.data["over_cap"] is True
    assert event.data["reason"] == "P1 surge, covering"


def test_a_supervisor_takes_over_or_hands_on_a_claim_audited(app, client):
    op = token_for(app, "operator", "olly")
    op2 = token_for(app, "operator", "ola")
    sup = token_for(app, "supervisor", "sam")
    a, b, c = _cases(client, app, 3)
    for case_id in (a, b):
        client.post(f"/api/cases/{case_id}/claim", headers=op)
    # Operators may not use it.
    assert client.post(f"/api/cases/{a}/assign", json={"reason": "mine now"},
                       headers=op2).status_code == 403
    assert client.post(f"/api/cases/{a}/assign", json={"to": "ola", "reason": " "},
                       headers=sup).status_code == 422
    assert client.post(f"/api/cases/{a}/assign", json={"to": "nobody", "reason": "cover"},
                       headers=sup).status_code == 404
    moved = client.post(f"/api/cases/{a}/assign", json={"to": "ola", "reason": "olly on break"},
                        headers=sup)
    assert moved.status_code == 200 and moved.json()["assigned_to"] == "ola"
    taken = client.post(f"/api/cases/{b}/assign", json={"reason": "taking the P1 myself"},
                        headers=sup)
    assert taken.status_code == 200 and taken.json()["assigned_to"] == "sam"
    events = audits(app, "case.reassigned")
    assert [(e.case_id, e.data["previous"], e.data["to"], e.data["takeover"])
            for e in events] == [(a, "olly", "ola", False), (b, "olly", "sam", True)]
    assert all(e.actor == "sam" and e.data["reason"] for e in events)
    # Handing on beyond the new holder's cap: the reason stands for it, and it is recorded.
    client.post(f"/api/cases/{c}/claim", headers=op2)  # ola now holds a and c
    d = open_case(client, app, "a lad was shouting at me earlier at york", "+447700900699")
    assert client.post(f"/api/cases/{d}/assign", json={"to": "ola", "reason": "she knows him"},
                       headers=sup).status_code == 200
    assert audits(app, "case.reassigned")[-1].data["over_cap"] is True
