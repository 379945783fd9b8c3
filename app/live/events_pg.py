"""Live events across processes on PostgreSQL: NOTIFY after commit, LISTEN and re-publish.

Each process's EventBus already fans events out to its own SSE clients after each commit. The
relay adds two threads: a sender that NOTIFYs every local event on a channel named for the
database schema, and a listener that LISTENs on it and delivers the events other processes sent
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


class PgRelay:
    """Started by the app's lifespan on PostgreSQL; stop() ends both threads."""

    def __init__(self, bus: EventBus, engine: Engine, *, origin: str | None = None) -> None:
        self.bus = bus
        self.origin = origin or process_id()
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        with engine.connect() as conn:
            schema = conn.exec_driver_sql("select current_schema()").scalar_one()
        self.channel = channel_for(str(schema))
        self._outgoing: queue.Queue[Event | None] = queue.Queue(10_000)
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._listener = threading.Thread(target=self._listen, name="pg-listen", daemon=True)
        self._sender = threading.Thread(target=self._send, name="pg-notify", daemon=True)
        self.sent = self.received = 0

    def start(self, wait: float = 10.0) -> None:
        self.bus.add_listener(self._on_local)
        self._listener.start()
        self._sender.start()
        if not self.listening.wait(wait):
            log.warning("event relay not listening yet; events from other processes may lag",
                        extra=log_fields(channel=self.channel))

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        try:
            self._outgoing.put_nowait(None)
        except queue.Full:
            pass
        self._sender.join(timeout)
        self._listener.join(timeout)

    def _on_local(self, event: Event) -> None:
        # Called in the publisher's thread: never block it on the database.
        if event.kind in NOT_RELAYED or threading.current_thread() is self._listener:
            return
        try:
            self._outgoing.put_nowait(event)
        except queue.Full:
            log.warning("event relay backlog full; an event was not relayed",
                        extra=log_fields(kind=event.kind, case=event.case_id))

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)

    def _send(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        failures = 0
        pending: Event | None = None
        while True:
            if pending is None:
                pending = self._outgoing.get()
                if pending is None:
                    break
            try:
                if conn is None or conn.closed:
                    conn = self._connect()
                conn.execute("SELECT pg_notify(%s, %s)", (self.channel,
                                                          encode(pending, self.origin)))
                self.sent += 1
                pending, failures = None, 0
            except psycopg.Error as exc:
                failures += 1
                conn = None
                log.warning("event relay could not NOTIFY; retrying",
                            extra=log_fields(error=str(exc).splitlines()[0][:200]))
                if self._stop.wait(min(RECONNECT_MAX, 0.2 * 2 ** failures)):
                    break
        if conn is not None:
            conn.close()

    def _listen(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self.listening.set()
                    failures = 0
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._deliver(note.payload)
            except psycopg.Error as exc:
                self.listening.clear()
                failures += 1
                log.warning("event relay lost its LISTEN connection; reconnecting",
                            extra=log_fields(error=str(exc).splitlines()[0][:200]))
                self._stop.wait(min(RECONNECT_MAX, 0.2 * 2 ** failures))

    def _deliver(self, payload: str) -> None:
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

