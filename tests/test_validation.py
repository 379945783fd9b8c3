"""Typed text reaching the database: NUL and other controls are a 422, never a 500."""

import pytest

from tests.helpers import text_in, token_for


@pytest.mark.parametrize("route,payload", [
    ("notes", {"body": "bad\x00note"}),
    ("messages", {"body": "hi\x1bthere"}),
    ("decision", {"decision": "101", "queue": "general", "reason": "\x00"}),
    ("close", {"outcome": "done\x7f"}),
])
def test_control_characters_are_refused(app, client, route, payload):
    headers = token_for(app)
    text_in(client, "someone odd at leeds station", phone="+447700900861")
    resp = client.post(f"/api/cases/1/{route}", json=payload, headers=headers)
    assert resp.status_code == 422
    assert "control characters" in resp.json()["detail"]


def test_newlines_and_tabs_are_fine(app, client):
    headers = token_for(app)
    text_in(client, "someone odd at leeds station", phone="+447700900862")
    resp = client.post("/api/cases/1/notes", json={"body": "line one\n\tline two"}, headers=headers)
    assert resp.status_code == 201
