"""Live events for connected dashboards: published after a commit, fanned out to subscribers.

In one process this is enough; several processes on PostgreSQL relay through LISTEN/NOTIFY
(the relay publishes into this same bus).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from app.kit.events import Event, Kind


class EventBus:
    """Thread-safe publish (from request threads and workers), async subscribe (SSE handlers)."""

    def __init__(self, max_queue: int = 1000) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event]]] = set()
        self._max_queue = max_queue
        self._listeners: list[Callable[[Event], None]] = []

    def add_listener(self, fn: Callable[[Event], None]) -> None:
        """A plain function called on every event, in the publisher's thread (keep it quick)."""
        with self._lock:
            self._listeners.append(fn)

    def publish(self, kind: Kind, case_id: int | None = None, **data: Any) -> None:
        self.deliver(Event(kind, case_id, data))

    # Relays (app/live/events_pg.py) hand over events built in another process, keeping their
    # time.
    def deliver(self, event: Event) -> None:
        """Fan a ready-made event out to the listeners and subscribers."""
        with self._lock:
            subscribers = list(self._subscribers)
            listeners = list(self._listeners)
        for fn in listeners:
            fn(event)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(self._offer, queue, event)
            except RuntimeError:  # that subscriber's loop has closed
                with self._lock:
                    self._subscribers.discard((loop, queue))

    @staticmethod
    def _offer(queue: asyncio.Queue[Event], event: Event) -> None:
        # A subscriber too slow to keep up loses the oldest events, never blocks the publisher;
        # its page reloads the queue on the next event anyway.
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(event)

    async def subscribe(self) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue(self._max_queue)
        entry = (loop, queue)
        with self._lock:
            self._subscribers.add(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            with self._lock:
                self._subscribers.discard(entry)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)
