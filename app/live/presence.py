"""Who has which case open right now, so that two operators don't answer one texter at once.

A case page holds a live event stream while it is open; the stream joins on connect and leaves
when the browser goes away. Each process keeps its own viewers, and also what the other
instances last announced: every join and leave that changes this instance's list publishes a
"case.viewing" event carrying that list, which the PostgreSQL relay (app/live/events_pg.py) takes to
the others. An instance that dies says no goodbye, so on PostgreSQL each one repeats its
announcements every HEARTBEAT seconds and forgets an instance that has gone quiet for EXPIRY.

Every stream asks for a case's viewers on every "case.viewing" event it hears, so that answer is
kept ready, worked out again only when it changes; and one person opening a case in yet another
tab changes nothing to announce. The cost of an event to a stream is then the same with ten
streams open as with a thousand.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.kit.events import Event, Kind
from app.live.events import EventBus

if TYPE_CHECKING:
    from app.cases.sweeper import Periodic

HEARTBEAT = 20.0
# Two lost announcements in a row are forgiven (NOTIFY is best effort); a third means gone.
EXPIRY = 3 * HEARTBEAT


class Presence:
    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 instance: str | None = None) -> None:
        self.instance = instance or uuid.uuid4().hex[:12]
        self._clock = clock  # monotonic, this process's: no clock is compared across hosts
        self._lock = threading.Lock()
        # Held from reading a list to handing its event to the bus, so that a heartbeat can't
        # overtake a leave with the list from before it.
        self._announcing = threading.Lock()
        self._viewers: dict[int, dict[int, str]] = {}  # case id -> {connection: username}
        # case id -> {username: connections open}, each name where it first opened the case
        self._counts: dict[int, dict[str, int]] = {}
        self._merged_now: dict[int, list[str]] = {}  # the answer of viewers(), while it holds
        self._announced: dict[int, list[str]] = {}  # case id -> the local list last announced
        # instance -> case id -> (its usernames, when we heard them by self._clock)
        self._remote: dict[str, dict[int, tuple[list[str], float]]] = {}
        self._ids = itertools.count(1)

    def join(self, case_id: int, username: str) -> int:
        with self._lock:
            conn = next(self._ids)
            self._viewers.setdefault(case_id, {})[conn] = username
            counts = self._counts.setdefault(case_id, {})
            counts[username] = counts.get(username, 0) + 1
            if counts[username] == 1:
                self._merged_now.pop(case_id, None)
            return conn

    def leave(self, case_id: int, conn: int) -> None:
        with self._lock:
            viewers = self._viewers.get(case_id)
            if viewers is None or conn not in viewers:
                return
            username = viewers.pop(conn)
            counts = self._counts[case_id]
            counts[username] -= 1
            if not counts[username]:
                del counts[username]
                self._merged_now.pop(case_id, None)
            if not viewers:
                del self._viewers[case_id], self._counts[case_id]

    def viewers(self, case_id: int) -> list[str]:
        """Distinct usernames, this instance's first, each in the order they opened the case
        (one person in two tabs, or on two instances: once)."""
        with self._lock:
            return list(self._merged(case_id))

    def snapshot(self) -> dict[int, list[str]]:
        with self._lock:
            cases = dict.fromkeys(self._viewers)
            for remote in self._remote.values():
                cases.update(dict.fromkeys(remote))
            return {case_id: list(self._merged(case_id)) for case_id in cases}

    def announce(self, bus: EventBus, case_id: int, *, if_changed: bool = False) -> None:
        """Tell this instance's streams, and through the relay the other instances, who has
        the case open. With if_changed, only when this instance's list differs from the one it
        last announced: a second tab of someone already shown tells nobody anything."""
        with self._announcing:
            with self._lock:
                local, merged = self._local(case_id), list(self._merged(case_id))
                if if_changed and self._announced.get(case_id, []) == local:
                    return
                if local:
                    self._announced[case_id] = local
                else:
                    self._announced.pop(case_id, None)
            bus.publish(Kind.CASE_VIEWING, case_id, viewers=merged, local=local,
                        instance=self.instance)

    def on_event(self, event: Event) -> None:
        """The bus listener (EventBus.add_listener): keeps what other instances announce. It runs
        before the event reaches any stream, so a stream formatting it sees the news."""
        if event.kind != Kind.CASE_VIEWING or event.case_id is None:
            return
        instance, local = event.data.get("instance"), event.data.get("local")
        # Our own events, or ones without the fields (an older version, or a payload the relay
        # had to cut down), teach nothing about another instance.
        if not isinstance(instance, str) or not isinstance(local, list):
            return
        if instance == self.instance:
            return
        names = list(dict.fromkeys(n for n in local if isinstance(n, str)))
        with self._lock:
            self._merged_now.pop(event.case_id, None)
            cases = self._remote.setdefault(instance, {})
            if names:
                cases[event.case_id] = (names, self._clock())
            else:
                cases.pop(event.case_id, None)
            if not cases:
                del self._remote[instance]

    def heartbeat(self, bus: EventBus) -> None:
        """Every HEARTBEAT seconds: say again what is open here, and forget what instances gone
        quiet for EXPIRY said, telling the open pages when that changes what they show."""
        with self._lock:
            stale_before = self._clock() - EXPIRY
            stale = {case_id for cases in self._remote.values()
                     for case_id, (_, when) in cases.items() if when < stale_before}
            before = {case_id: self._merged(case_id) for case_id in stale}
            for instance, cases in list(self._remote.items()):
                for case_id in [c for c, (_, when) in cases.items() if when < stale_before]:
                    del cases[case_id]
                if not cases:
                    del self._remote[instance]
            for case_id in stale:
                self._merged_now.pop(case_id, None)
            changed = [c for c in stale if self._merged(c) != before[c]]
            cases_here = list(self._viewers)
        for case_id in dict.fromkeys([*cases_here, *sorted(changed)]):
            self.announce(bus, case_id)

    def _local(self, case_id: int) -> list[str]:  # with self._lock held
        return list(self._counts.get(case_id, ()))

    def _merged(self, case_id: int) -> list[str]:  # with self._lock held; never to be changed
        merged = self._merged_now.get(case_id)
        if merged is None:
            names = self._local(case_id)
            for cases in self._remote.values():
                if case_id in cases:
                    names.extend(cases[case_id][0])
            merged = list(dict.fromkeys(names))
            if merged:  # kept only for cases someone has open: any id may be asked about
                self._merged_now[case_id] = merged
        return merged


def start_heartbeat(presence: Presence, bus: EventBus) -> Periodic:
    """The periodic re-announcement, only where the relay runs (on SQLite one process is all);
    returns the task, whose stop() ends it."""
    from app.cases.sweeper import Periodic

    beat = Periodic("presence-heartbeat", HEARTBEAT, lambda: presence.heartbeat(bus))
    beat.start()
    return beat
