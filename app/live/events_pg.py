"""Live events across processes on PostgreSQL: NOTIFY after commit, LISTEN and re-publish.

Each process's EventBus already fans events out to its own SSE clients after each commit. The
relay adds two loops (app/kit/loops.py), each on its own thread: a notifier that NOTIFYs every
local event on a channel named for the database schema, and a listener that LISTENs on it and delivers the events other processes sent
into the local bus. Each payload carries the sending process's id, so a process never delivers
its own events twice. "case.viewing" crosses too: it carries each instance's own viewers of a
case, which every instance merges with its own (app/dashboard/presence.py).

A NOTIFY is best effort, as the local bus is: a page that misses one catches up on the next, and
reloads its queue on reconnecting. The database stays the one source of truth.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import socket
import threading
import uuid
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import Engine

from app.kit.events import Event, Kind
from app.kit.logs import log_fields
from app.kit.loops import Loop
from app.live.events import EventBus

log = logging.getLogger("textline.events")

NOT_RELAYED: frozenset[str] = frozenset()  # kinds kept to the process that published them
MAX_PAYLOAD = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more
RECONNECT_MAX = 10.0


def process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def encode(event: Event, origin: str) -> str:
    doc: dict[str, Any] = {"o": origin, "k": event.kind, "c": event.case_id, "d": event.data,
                           "t": event.at}
    payload = json.dumps(doc, default=str, separators=(",", ":"))
    if len(payload.encode()) > MAX_PAYLOAD:
        doc["d"] = {}  # the kind and the case are what a page acts on
        payload = json.dumps(doc, separators=(",", ":"))
    return payload


def decode(payload: str) -> tuple[str, Event] | None:
    try:
        doc = json.loads(payload)
        event = Event(Kind(doc["k"]), doc.get("c"), dict(doc.get("d") or {}), float(doc["t"]))
        return str(doc["o"]), event
    except (ValueError, KeyError, TypeError):
        return None


def channel_for(schema: str) -> str:
    """One channel per schema: instances sharing tables share events, and nothing else does."""
    return "textline_events_" + re.sub(r"[^a-z0-9_]", "_", schema.lower())[:40]


class _Notifier(Loop):
    """NOTIFYs each local event, in order; a failed NOTIFY is retried with backoff."""

    def __init__(self, relay: PgRelay) -> None:
        super().__init__("pg-notify", poll=0.2, max_backoff=RECONNECT_MAX)
        self.relay = relay
        self.outgoing: queue.Queue[Event | None] = queue.Queue(10_000)
        self.conn: psycopg.Connection[Any] | None = None
        self.pending: Event | None = None

    def step(self) -> bool:
        if self.pending is None:
            self.pending = self.outgoing.get()  # blocks: the queue is this loop's wake-up
            if self.pending is None:  # stop() asked
                return False
        self._notify(self.pending)
        self.pending = None
        return True

    def _notify(self, event: Event) -> None:
        relay = self.relay
        try:
            if self.conn is None or self.conn.closed:
                self.conn = relay.connect()
            self.conn.execute("SELECT pg_notify(%s, %s)", (relay.channel,
                                                           encode(event, relay.origin)))
            relay.sent += 1
        except psycopg.Error:
            self.conn = None
            raise

    def failed(self, exc: BaseException) -> None:
        if isinstance(exc, psycopg.Error):
            log.warning("event relay could not NOTIFY; retrying",
                        extra=log_fields(error=str(exc).splitlines()[0][:200]))
        else:
            super().failed(exc)

    def interrupt(self) -> None:
        try:
            self.outgoing.put_nowait(None)
        except queue.Full:
            pass

    def finished(self) -> None:
        # Events published before stop() still go, as far as the connection allows.
        try:
            while self.conn is not None and not self.conn.closed:
                event = self.pending or self.outgoing.get_nowait()
                self.pending = None
                if event is not None:
                    self._notify(event)
        except (queue.Empty, psycopg.Error):
            pass
        if self.conn is not None:
            self.conn.close()


class _Listener(Loop):
    """LISTENs and re-publishes what other processes sent; reconnects with backoff."""

    def __init__(self, relay: PgRelay) -> None:
        super().__init__("pg-listen", poll=0.2, max_backoff=RECONNECT_MAX)
        self.relay = relay

    def step(self) -> bool:
        relay = self.relay
        try:
            with relay.connect() as conn:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(relay.channel)))
                relay.listening.set()
                self.failures = 0
                while not self.stopping.is_set():
                    for note in conn.notifies(timeout=0.5):
                        relay.deliver(note.payload)
        except psycopg.Error:
            relay.listening.clear()
            raise
        return False

    def failed(self, exc: BaseException) -> None:
        if isinstance(exc, psycopg.Error):
            log.warning("event relay lost its LISTEN connection; reconnecting",
                        extra=log_fields(error=str(exc).splitlines()[0][:200]))
        else:
            super().failed(exc)


class PgRelay:
    """Started by the app's lifespan on PostgreSQL; stop() ends both loops."""

    def __init__(self, bus: EventBus, engine: Engine, *, origin: str | None = None) -> None:
        self.bus = bus
        self.origin = origin or process_id()
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        with engine.connect() as conn:
            schema = conn.exec_driver_sql("select current_schema()").scalar_one()
        self.channel = channel_for(str(schema))
        self.listening = threading.Event()
        self._listener = _Listener(self)
        self._notifier = _Notifier(self)
        self.sent = self.received = 0

    def start(self, wait: float = 10.0) -> None:
        self.bus.add_listener(self._on_local)
        self._listener.start()
        self._notifier.start()
        if not self.listening.wait(wait):
            log.warning("event relay not listening yet; events from other processes may lag",
                        extra=log_fields(channel=self.channel))

    def stop(self, timeout: float = 5.0) -> None:
        self._notifier.stop(timeout)
        self._listener.stop(timeout)

    def _on_local(self, event: Event) -> None:
        # Called in the publisher's thread: never block it on the database.
        if event.kind in NOT_RELAYED or threading.current_thread() is self._listener.thread:
            return
        try:
            self._notifier.outgoing.put_nowait(event)
        except queue.Full:
            log.warning("event relay backlog full; an event was not relayed",
                        extra=log_fields(kind=event.kind, case=event.case_id))

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)

    def deliver(self, payload: str) -> None:
        found = decode(payload)
        if found is None:
            return
        origin, event = found
        if origin == self.origin:
            return
        self.received += 1
        self.bus.deliver(event)


def start_relay(bus: EventBus, engine: Engine) -> PgRelay | None:
    """The relay on PostgreSQL; None on SQLite, where one process is the whole deployment."""
    if engine.dialect.name != "postgresql":
        return None
    relay = PgRelay(bus, engine)
    relay.start()
    return relay

