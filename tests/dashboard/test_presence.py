"""Presence across instances: what each announces, merged with what it has itself, forgotten when
an instance goes quiet. Two buses joined as the PostgreSQL relay joins them, and a fake clock."""

from __future__ import annotations

import json
import threading

from app.kit.events import Event
from app.live.events import EventBus
from app.live.presence import EXPIRY, HEARTBEAT, Presence
from app.live.sse import format_event
from tests.dashboard.test_sse import _client, _events, _wait_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Instance:
    """One process: its bus, its presence listening on it, and every event the bus carried."""

    def __init__(self, clock: Clock, name: str) -> None:
        self.bus = EventBus()
        self.presence = Presence(clock=clock, instance=name)
        self.bus.add_listener(self.presence.on_event)
        self.seen: list[Event] = []
        self.bus.add_listener(self.seen.append)

    def open(self, case_id: int, username: str) -> int:
        conn = self.presence.join(case_id, username)
        self.presence.announce(self.bus, case_id)
        return conn

    def close(self, case_id: int, conn: int) -> None:
        self.presence.leave(case_id, conn)
        self.presence.announce(self.bus, case_id)

    def viewing(self) -> list[tuple[int | None, dict]]:
        return [(e.case_id, e.data) for e in self.seen if e.kind == "case.viewing"]


def linked(clock: Clock) -> tuple[Instance, Instance]:
    """As app/live/events_pg.py: each event published on one bus is delivered once on the other."""
    a, b = Instance(clock, "aaaa"), Instance(clock, "bbbb")
    crossed: dict[int, Event] = {}  # kept, so that an id is never reused while we look

    def relay(to: EventBus):  # type: ignore[no-untyped-def]
        def forward(event: Event) -> None:
            if id(event) not in crossed:
                crossed[id(event)] = event
                to.deliver(event)
        return forward

    a.bus.add_listener(relay(b.bus))
    b.bus.add_listener(relay(a.bus))
    return a, b


def test_viewers_merge_this_instance_first_then_the_others():
    a, b = linked(Clock())
    a.open(5, "amy")
    b.open(5, "bob")
    a.open(6, "amy")
    assert a.presence.viewers(5) == ["amy", "bob"]
    assert b.presence.viewers(5) == ["bob", "amy"]
    assert b.presence.snapshot() == {5: ["bob", "amy"], 6: ["amy"]}  # case 6 only from A
    # The announcement says what this instance has, and the merged view for its own streams.
    assert a.viewing()[-1] == (6, {"viewers": ["amy"], "local": ["amy"], "instance": "aaaa"})
    assert b.viewing()[-2] == (5, {"viewers": ["bob", "amy"], "local": ["bob"],
                                   "instance": "bbbb"})


def test_own_announcements_are_not_taken_for_another_instance():
    a = Instance(Clock(), "aaaa")
    conn = a.open(5, "amy")
    a.presence.leave(5, conn)  # no announcement: only a stored echo could keep amy
    assert a.presence.viewers(5) == [] and a.presence.snapshot() == {}
    a.bus.deliver(Event("case.viewing", 5, {"viewers": ["zed"], "local": ["zed"],
                                            "instance": "aaaa"}))
    assert a.presence.viewers(5) == []


def test_events_without_an_instance_or_list_are_ignored():
    a = Instance(Clock(), "aaaa")
    for data in ({"viewers": ["zed"]}, {"local": ["zed"]}, {"local": "zed", "instance": "x"},
                 {}):  # an older version's event, or one the relay cut to fit a NOTIFY
        a.bus.deliver(Event("case.viewing", 5, data))
    a.bus.deliver(Event("case.viewing", None, {"local": ["zed"], "instance": "x"}))
    assert a.presence.snapshot() == {}


def test_an_empty_list_removes_that_instances_viewers():
    a, b = linked(Clock())
    conn = a.open(5, "amy")
    b.open(5, "bob")
    assert b.presence.viewers(5) == ["bob", "amy"]
    a.close(5, conn)
    assert b.presence.viewers(5) == ["bob"]
    assert a.presence.viewers(5) == ["bob"]  # A still hears B's
    a.open(7, "amy")
    conn7 = a.presence.join(7, "amy")
    a.close(7, conn7)  # amy's other tab still has it open: A still announces her
    assert b.presence.viewers(7) == ["amy"]


def test_one_person_in_two_tabs_or_on_two_instances_is_listed_once():
    a, b = linked(Clock())
    a.open(5, "amy")
    a.open(5, "amy")
    b.open(5, "amy")
    b.open(5, "bob")
    said_by_a = [data["local"] for _, data in a.viewing() if data["instance"] == "aaaa"]
    assert said_by_a == [["amy"], ["amy"]]
    assert a.presence.viewers(5) == ["amy", "bob"]
    assert b.presence.viewers(5) == ["amy", "bob"]
    assert b.presence.snapshot() == {5: ["amy", "bob"]}


def test_a_quiet_instance_expires_and_the_pages_are_told():
    clock = Clock()
    a, b = linked(clock)
    a.open(5, "amy")  # then A dies: no leave, no heartbeat
    b.open(9, "bob")
    clock.now += EXPIRY - 1
    before = len(b.viewing())
    b.presence.heartbeat(b.bus)
    assert b.presence.viewers(5) == ["amy"]
    assert [case for case, _ in b.viewing()[before:]] == [9]  # only B's own case, repeated
    clock.now += 2
    before = len(b.viewing())
    b.presence.heartbeat(b.bus)
    assert b.presence.viewers(5) == [] and b.presence.snapshot() == {9: ["bob"]}
    told = dict(b.viewing()[before:])
    assert told[5] == {"viewers": [], "local": [], "instance": "bbbb"}
    before = len(b.viewing())
    b.presence.heartbeat(b.bus)  # nothing more to drop: nothing more said about case 5
    assert [case for case, _ in b.viewing()[before:]] == [9]


def test_expiry_that_changes_nothing_shown_says_nothing():
    clock = Clock()
    a, b = linked(clock)
    a.open(5, "amy")  # amy on A, which dies, and on B, which lives
    clock.now += EXPIRY + 1
    b.open(5, "amy")
    before = len(b.viewing())
    b.presence.heartbeat(b.bus)
    assert b.presence.viewers(5) == ["amy"]
    assert [data["local"] for _, data in b.viewing()[before:]] == [["amy"]]  # the re-announce


def test_the_heartbeat_keeps_a_living_instance_fresh():
    clock = Clock()
    a, b = linked(clock)
    a.open(5, "amy")
    clock.now += HEARTBEAT * 2.5
    before = len(a.viewing())
    a.presence.heartbeat(a.bus)
    assert a.viewing()[before:] == [(5, {"viewers": ["amy"], "local": ["amy"],
                                         "instance": "aaaa"})]
    clock.now += HEARTBEAT * 2.5  # 5 heartbeats since amy opened it, 2.5 since A last said so
    b.presence.heartbeat(b.bus)
    assert b.presence.viewers(5) == ["amy"]
    clock.now += HEARTBEAT
    b.presence.heartbeat(b.bus)
    assert b.presence.viewers(5) == []


def test_a_heartbeat_with_nothing_open_says_nothing():
    a = Instance(Clock(), "aaaa")
    conn = a.open(5, "amy")
    a.close(5, conn)
    before = len(a.seen)
    a.presence.heartbeat(a.bus)
    assert a.seen[before:] == []


def test_the_page_gets_this_instances_view_never_texter_content():
    event = Event("case.viewing", 5, {"viewers": ["amy"], "local": ["amy"], "instance": "aaaa",
                                      "body": "secret words"})
    payload = json.loads(format_event(event, ["bob", "amy"])[6:])
    assert payload == {"kind": "case.viewing", "case_id": 5, "at": event.at,
                       "viewers": ["bob", "amy"]}


def test_a_stream_shows_another_instances_viewers_merged_and_skips_repeats(server):
    alice = _client(server, "alice")
    bus = server.app.state.runtime.events
    with alice.stream("GET", "/events", params={"case": 4}) as stream:
        seen = _events(stream.iter_lines())
        event = next(seen)
        assert event["kind"] == "case.viewing" and event["viewers"] == ["alice"]
        # As the relay would deliver it: the sender's merged list is not what this page shows.
        remote = {"viewers": ["zoe", "nobody-here"], "local": ["zoe"], "instance": "elsewhere"}
        bus.deliver(Event("case.viewing", 4, remote))
        event = next(seen)
        assert event["kind"] == "case.viewing" and event["viewers"] == ["alice", "zoe"]
        bus.deliver(Event("case.viewing", 4, remote))  # its heartbeat: nothing new
        server.app.state.presence.announce(bus, 4)  # nor here
        bus.publish("case.updated", 4, action="note")
        assert next(seen)["kind"] == "case.updated"
        bus.deliver(Event("case.viewing", 4, {**remote, "local": []}))
        event = next(seen)
        assert event["kind"] == "case.viewing" and event["viewers"] == ["alice"]
    _wait_for(lambda: server.app.state.presence.snapshot() == {})
    alice.close()


def test_a_stream_sends_keep_alives_while_skipping_repeats(server, monkeypatch):
    from app.live import sse

    monkeypatch.setattr(sse, "HEARTBEAT_SECONDS", 0.3)
    alice = _client(server, "alice")
    bus, presence = server.app.state.runtime.events, server.app.state.presence
    stop = threading.Event()

    def repeat() -> None:  # unchanged announcements, more often than the keep-alive's interval
        while not stop.wait(0.05):
            presence.announce(bus, 4)

    repeater = threading.Thread(target=repeat, daemon=True)
    with alice.stream("GET", "/events", params={"case": 4}) as stream:
        lines = stream.iter_lines()
        _wait_for(lambda: presence.viewers(4) == ["alice"])
        repeater.start()
        try:
            keep_alives = 0
            for line in lines:  # timed out by the client if no keep-alive ever comes
                assert not line.startswith("data: ") or '"case.viewing"' in line
                keep_alives += line == ": keep-alive"
                if keep_alives == 2:
                    break
        finally:
            stop.set()
            repeater.join(5)
    alice.close()
