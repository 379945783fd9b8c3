"""Senders are woken by the commits that queue rows (rt.wake_outbox()), not by dashboard events."""

from __future__ import annotations

import time

from app.inbox.reader import InboxProcessor
from app.live.events import EventBus
from app.startup.bootstrap import start_senders
from tests.cases.test_actions_helpers import open_case
from tests.helpers import text_in, token_for
from tests.sms.fake_twilio import make_runtime


class Wakes:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def test_wake_outbox_does_nothing_where_no_senders_run(settings):
    rt = make_runtime(settings)
    assert rt.outbox_waker is None
    rt.wake_outbox()  # a process without senders: nothing to wake, nothing raised
    rt.engine.dispose()


def test_start_senders_wakes_a_sender_directly_and_not_through_the_event_bus(settings):
    rt = make_runtime(settings, EventBus())
    senders = start_senders(rt)
    try:
        assert rt.outbox_waker is not None
        assert rt.events._listeners == []  # no listener on the dashboards' events
        woken = []
        for sender in senders:
            sender.notify = lambda *a, s=sender: woken.append(s.name)  # type: ignore[method-assign]
        rt.wake_outbox()
        assert len(woken) == 1  # one loop per commit, not every one
    finally:
        for sender in senders:
            sender.stop()
        rt.engine.dispose()


def test_the_processor_wakes_the_outbox_after_reading_a_text(app, client):
    rt = app.state.runtime
    rt.outbox_waker = wakes = Wakes()
    text_in(client, "a man with a knife at leeds station", phone="+447700900611", read=False)
    processor = InboxProcessor(rt)
    processor.start()
    try:
        deadline = time.monotonic() + 10
        while wakes.count == 0:
            assert time.monotonic() < deadline, "the processor never woke the outbox"
            time.sleep(0.02)
    finally:
        processor.stop()
    assert wakes.count == 1  # one text read, one wake


def test_an_operator_reply_wakes_the_outbox_after_its_commit(app, client):
    rt = app.state.runtime
    case_id = open_case(client, app, phone="+447700900612")
    rt.outbox_waker = wakes = Wakes()
    alice = token_for(app, "operator", "alice")
    resp = client.post(f"/api/cases/{case_id}/messages", json={"body": "Are you safe?"},
                       headers=alice)
    assert resp.status_code == 201, resp.text
    assert wakes.count == 1
    resp = client.post(f"/api/cases/{case_id}/notes", json={"body": "called back"},
                       headers=alice)
    assert resp.status_code == 201, resp.text
    assert wakes.count == 1  # a note queues nothing
