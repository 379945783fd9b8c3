"""The inbox writer: every webhook's text made durable by one thread, many texts per commit.

A webhook hands its text to the writer and awaits the answer; the writer takes every text that
is waiting, inserts them with one statement and commits once, then answers them all. A commit
costs about the same for one row as for a hundred, so under a burst the price of durability is
shared ("group commit"), and with one text waiting it is one insert and one commit, no added
delay. The answer comes only after the commit: a webhook's 200 still means the text is safe.

Reading the text (the conversation, the dispatcher, the replies) happens later, off the
webhook's path: app/inbox/reader.py. On a SQLite file the reader holds the database's one write
lock while it reads a batch; the writer never waits for it: it tries the lock without waiting,
and when it is held it commits the texts to the landing instead (app/inbox/landing.py), a file
with a write lock of its own, from which the reader moves them into the inbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from app.inbox.inbound import Inbound
from app.inbox.landing import Landing, landing_path
from app.kit.db import make_engine
from app.kit.logs import log_fields
from app.models import Inbox

log = logging.getLogger("textline.inbox")

MAX_BATCH = 256
_STOP = object()


class InboxUnavailable(Exception):
    """The texts could not be committed: the webhook must not answer 200."""


COLUMNS = ("provider_sid", "phone", "to_number", "body", "media", "received_at", "attempts",
           "next_attempt_at")


class InboxInsert:
    """INSERT ... ON CONFLICT (provider_sid) DO NOTHING, as driver SQL with driver values.

    A Twilio retry of a text still waiting is a no-op. The statement is written once and the
    values converted by the columns' own SQLAlchemy types (so they read back exactly as the ORM
    wrote them), skipping the ORM's per-row work: half of the writer's time per batch.
    """

    def __init__(self, dialect: Any) -> None:
        marks = ["?" if dialect.paramstyle == "qmark" else "%s"] * len(COLUMNS)
        if dialect.name == "postgresql":
            marks[COLUMNS.index("media")] += "::jsonb"
        # Built from the constants above only; every value is bound.
        self.sql = (f"INSERT INTO inbox ({', '.join(COLUMNS)}) VALUES ({', '.join(marks)}) "  # noqa: S608
                    "ON CONFLICT (provider_sid) DO NOTHING")
        table = Inbox.__table__
        self.processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                           for name in COLUMNS]
        if dialect.name == "postgresql":  # psycopg takes JSON as text cast to jsonb
            self.processors[COLUMNS.index("media")] = lambda v: None if v is None else json.dumps(v)

    def values(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[name] if proc is None else proc(row[name])
                     for name, proc in zip(COLUMNS, self.processors, strict=True))


def inbox_row(msg: Inbound, received_at: datetime) -> dict[str, Any]:
    return {"provider_sid": msg.sid, "phone": msg.phone, "to_number": msg.to[:32],
            "body": msg.body, "media": msg.media or None, "received_at": received_at,
            "attempts": 0, "next_attempt_at": received_at}


class ArrivalRate:
    """What both inbox writers share: their counters, and the wake-up of whoever reads the texts.

    Reading is never held back for the webhook: the processor reads as soon as a commit tells it
    to, and a burst is read while it arrives (docs/scaling.md).
    """

    def __init__(self, on_commit: Callable[[int], None] | None) -> None:
        self.on_commit = on_commit
        self.committed = self.batches = 0

    def counted(self, texts: int) -> None:
        """A commit of `texts` texts: count it and tell whoever reads them."""
        self.committed += texts
        self.batches += 1
        if self.on_commit is not None:
            self.on_commit(texts)


class InboxWriter(ArrivalRate):
    """One daemon thread committing the texts handed to accept(), in batches."""

    def __init__(self, engine: Engine, *, on_commit: Callable[[int], None] | None = None,
                 max_batch: int = MAX_BATCH) -> None:
        super().__init__(on_commit)
        self.engine = engine
        self.max_batch = max_batch
        self.insert = InboxInsert(engine.dialect)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._gathering: dict[Any, tuple[list[dict[str, Any]], list[Any]]] = {}
        # A file database: a connection of the writer's own that never waits for the write
        # lock, and the landing for when it is held. In memory (tests) there is one connection.
        database = engine.url.database
        # Set while the reader loops over a backlog: texts then land without trying the lock,
        # so that reading never waits for it either (SQLite's busy handler polls, with sleeps
        # of up to 100 ms, where the pool hands its one connection over in turn).
        self.reading = False
        self.landing: Landing | None = None
        self._direct: Engine = engine
        if database not in (None, "", ":memory:"):
            self.landing = Landing(landing_path(database))
            self._direct = _without_waiting(make_engine(engine.url.render_as_string(False)))

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
                self._thread.start()

    async def accept(self, msg: Inbound, received_at: datetime) -> None:
        """Return once the text is committed; raise InboxUnavailable if it could not be."""
        if self._thread is None:
            self.start()
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        # The texts that reach this point in one turn of the event loop are handed to the
        # writer together, at the end of the turn: one wake-up of the writer thread per turn,
        # not one per text, which kept the two threads trading the interpreter lock.
        gathering = self._gathering.get(loop)
        if gathering is None:
            gathering = self._gathering[loop] = ([], [])
            loop.call_soon(self._hand_over, loop)
        gathering[0].append(inbox_row(msg, received_at))
        gathering[1].append(done)
        # Shielded: a client that hangs up does not un-queue a text being committed.
        await asyncio.shield(done)

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        gathered = self._gathering.pop(loop, None)
        if gathered is None:  # aclose() handed this turn's texts over already
            return
        self.start()  # a no-op unless stop() came between accept() and here
        self._queue.put((*gathered, loop))

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what is already handed over, then end the thread."""
        thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout)
            self._thread = None
        if self.landing is not None:  # both reopen if the writer is used again
            self.landing.close()
            self._direct.dispose()

    async def aclose(self) -> None:
        """Commit every text accepted on this loop, then end the thread (off the loop)."""
        self._hand_over(asyncio.get_running_loop())
        await asyncio.to_thread(self.stop)

    def _write(self, rows: list[dict[str, Any]]) -> None:
        if not self._straight(rows):
            self.landing.put(rows)  # type: ignore[union-attr]  # _straight said it is there
        self.counted(len(rows))

    def _straight(self, rows: list[dict[str, Any]]) -> bool:
        """Into the inbox, if the write lock is free this instant and nothing waits in the
        landing (it came first, and a texter's texts keep their order); else False, nothing
        written. Looked at under the lock: the reader removes landed texts only once the
        inbox has them."""
        if self.reading and self.landing is not None:
            return False
        values = [self.insert.values(row) for row in rows]
        with self._direct.connect() as conn:
            try:
                conn.begin()  # BEGIN IMMEDIATE: the write lock, or "database is locked" at once
            except OperationalError as exc:
                if self.landing is None or "database is locked" not in str(exc):
                    raise
                return False
            if self.landing is not None and not self.landing.empty():
                conn.rollback()
                return False
            conn.exec_driver_sql(self.insert.sql, values)
            conn.commit()
        return True

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                break
            handed = [item]
            rows = len(item[0])
            while rows < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                handed.append(item)
                rows += len(item[0])
            error: Exception | None = None
            try:
                self._write([row for batch, _, _ in handed for row in batch])
            except Exception as exc:  # the database is away: these webhooks answer 503
                log.exception("inbox commit failed", extra=log_fields(texts=rows))
                error = exc
            for _, futures, loop in handed:
                _answer(loop, futures, error)


def _without_waiting(engine: Engine) -> Engine:
    """BEGIN IMMEDIATE fails at once, not after the busy handler's sleeps, when the write lock
    is held: the writer lands its texts instead."""
    @event.listens_for(engine, "connect")
    def _no_busy_wait(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout = 0")

    return engine


def _answer(loop: asyncio.AbstractEventLoop, futures: list[asyncio.Future[None]],
            error: Exception | None) -> None:
    """Resolve the waiting webhooks' futures on their own loop, in one call."""
    try:
        loop.call_soon_threadsafe(resolve, futures, error)
    except RuntimeError:  # that loop has closed: nobody is waiting any more
        pass


def resolve(futures: list[asyncio.Future[None]], error: Exception | None) -> None:
    """Answer the waiting webhooks: committed, or InboxUnavailable (a 503) with the reason."""
    for done in futures:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(InboxUnavailable(str(error).splitlines()[0][:200]))
