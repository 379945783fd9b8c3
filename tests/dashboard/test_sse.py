"""GET /events against a real server: events arrive after commits, presence follows the stream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.kit.events import Event
from app.live.sse import format_event
from app.sms.simulate import post_text
from tests.dashboard.signin import add_user, post_login


def _client(server: Any, username: str) -> httpx.Client:
    add_user(server.app, username)
    client = httpx.Client(base_url=server.url, timeout=httpx.Timeout(10, read=20))
    assert post_login(client, username).status_code == 303
    return client


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.startswith("data: "):
            yield json.loads(line[6:])


def _wait_for(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_event_payload_carries_no_texter_content():
    line = format_event(Event("message.new", 7, {"body": "secret words", "direction": "inbound"}))
    assert line.startswith("data: ") and line.endswith("\n\n")
    payload = json.loads(line[6:])
    assert payload["kind"] == "message.new" and payload["case_id"] == 7
    assert "secret" not in line
    read = json.loads(format_event(Event("case.opened", 7, {"sid": "SM1", "body": "x"}))[6:])
    assert read == {"kind": "case.opened", "case_id": 7, "at": read["at"], "sid": "SM1"}


def test_stream_needs_a_session(server):
    with httpx.Client(base_url=server.url) as anon:
        assert anon.get("/events").status_code == 401


def test_a_new_text_reaches_an_open_stream(server):
    client = _client(server, "alice")
    settings = server.app.state.runtime.settings
    with client.stream("GET", "/events") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines).startswith("retry: ")
        _wait_for(lambda: server.app.state.runtime.events.subscriber_count == 1)
        with httpx.Client() as twilio:
            post_text(twilio, settings, server.url + "/webhooks/twilio/sms", "+447700900555",
                      "someone shouting at leeds station", sid="SM" + "5" * 32)
        event = next(_events(lines))  # sent once the server's processor has read the text
        assert event["kind"] == "case.opened" and event["case_id"] == 1
        assert event["sid"] == "SM" + "5" * 32  # which text it was, never its words
    client.close()


def test_presence_lasts_as_long_as_the_case_stream(server):
    alice = _client(server, "alice")
    bob = _client(server, "bob")
    presence = server.app.state.presence
    with alice.stream("GET", "/events") as watcher:
        seen = _events(watcher.iter_lines())
        _wait_for(lambda: server.app.state.runtime.events.subscriber_count == 1)
        with bob.stream("GET", "/events", params={"case": 3}) as viewer:
            assert viewer.status_code == 200
            event = next(seen)
            assert event == {**event, "kind": "case.viewing", "case_id": 3, "viewers": ["bob"]}
            assert presence.viewers(3) == ["bob"]
        event = next(seen)
        assert event["kind"] == "case.viewing" and event["viewers"] == []
        _wait_for(lambda: presence.viewers(3) == [])
    alice.close()
    bob.close()


@pytest.mark.parametrize("bad", ["0", "abc", str(2**31)])
def test_case_parameter_is_checked(server, bad):
    client = _client(server, "alice")
    assert client.get("/events", params={"case": bad}).status_code == 422
    client.close()


def test_a_disabled_users_stream_ends_though_events_keep_coming(server, monkeypatch):
    from app.auth.accounts import disable_user
    from app.kit.db import unit_of_work, utcnow
    from app.live import sse

    monkeypatch.setattr(sse, "RECHECK_SECONDS", 0.3)
    client = _client(server, "carol")
    rt = server.app.state.runtime
    with client.stream("GET", "/events") as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("retry: ")
        _wait_for(lambda: rt.events.subscriber_count == 1)
        rt.events.publish("case.updated", 1, action="note")
        assert next(_events(lines))["kind"] == "case.updated"  # signed in: events arrive
        with unit_of_work(rt.sessions) as session:
            disable_user(session, "carol", actor="cli", now=utcnow())
        ended = False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # a busy queue: an event every 50 ms
            rt.events.publish("case.updated", 1, action="note")
            time.sleep(0.05)
            if rt.events.subscriber_count == 0:
                ended = True
                break
        assert ended, "the disabled user's stream was still open"
        list(lines)  # the server closed the stream: reading to its end returns
    client.close()
