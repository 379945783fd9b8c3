"""The inbox writer on PostgreSQL: texts committed from the event loop itself, many per statement.

The same contract as app/inbox/writer.py's thread writer: accept() returns once the text is
committed, and raises InboxUnavailable if it could not be. On PostgreSQL the commit is a network
round trip, and a thread waiting on one has to win the interpreter lock back from the busy event
loop after every reply: the thread writer's begin, insert and commit each waited up to the
interpreter's 5 ms switch interval, so a batch of three texts took 3-10 ms and two workers
acknowledged fewer texts than one SQLite process (bench/README.md). Here the event loop awaits
the database like any other socket: no thread, no lock to win back.

Each event loop has one connection in autocommit mode and at most one statement in flight. The
texts that arrive while it is in flight go together in the next statement: one INSERT ... SELECT
FROM unnest(...) of every waiting text, atomic and committed on its own, one round trip however
many texts it holds ("group commit").

The statement goes through psycopg's libpq layer (`pgconn`), prepared once per connection, with
the batch as one JSON parameter. Through the cursor it cost 80-145 µs of client CPU each (array
adaptation, the cursor, the result), a statement for every two or three texts under a burst;
here 40-50 µs, building the JSON included (bench/README.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy.engine import Engine

from app.inbox.inbound import Inbound
from app.inbox.writer import MAX_BATCH, ArrivalRate, inbox_row, resolve
from app.kit.logs import log_fields

log = logging.getLogger("textline.inbox")
APPLICATION_NAME = "textline inbox writer"


def application_name() -> str:
    """The writer's connection name, with its process: pg_stat_activity tells it from the
    pool's connections and one instance's writer from another's."""
    return f"{APPLICATION_NAME} {os.getpid()}"

# ROWS FROM ... WITH ORDINALITY, ORDER BY n: ids are handed out in arrival order, which the
# processor reads by. The batch is the one bound parameter; the statement itself is constant.
PREPARE = b"""
PREPARE textline_inbox_insert (jsonb) AS
INSERT INTO inbox (provider_sid, phone, to_number, body, media, received_at, attempts,
                   next_attempt_at)
SELECT sid, phone, to_number, body, media, received_at, 0, received_at
FROM ROWS FROM (jsonb_to_recordset($1) AS (sid text, phone text, to_number text, body text,
                                          media jsonb, received_at timestamptz))
     WITH ORDINALITY AS t(sid, phone, to_number, body, media, received_at, n)
ORDER BY n
ON CONFLICT (provider_sid) DO NOTHING
"""
STATEMENT = b"textline_inbox_insert"


def batch_json(rows: list[dict[str, Any]]) -> bytes:
    """The batch as the statement's one parameter: a JSON array of objects."""
    return json.dumps([{"sid": r["provider_sid"], "phone": r["phone"], "to_number": r["to_number"],
                        "body": r["body"], "media": r["media"],
                        "received_at": r["received_at"].isoformat()} for r in rows]).encode()


@dataclass
class _Loop:
    """What one event loop holds: its connection, the texts waiting, the flush in progress."""

    waiting: list[tuple[dict[str, Any], asyncio.Future[None]]] = field(default_factory=list)
    conn: psycopg.AsyncConnection[Any] | None = None
    flushing: asyncio.Task[None] | None = None


class PgInboxWriter(ArrivalRate):
    def __init__(self, engine: Engine, *, on_commit: Callable[[int], None] | None = None,
                 max_batch: int = MAX_BATCH) -> None:
        super().__init__(on_commit)
        self.max_batch = max_batch
        _, self._connect_kwargs = engine.dialect.create_connect_args(engine.url)
        # Named, so that pg_stat_activity tells this connection from the pool's.
        self._connect_kwargs.setdefault("application_name", application_name())
        self._loops: dict[asyncio.AbstractEventLoop, _Loop] = {}

    async def accept(self, msg: Inbound, received_at: datetime) -> None:
        """Return once the text is committed; raise InboxUnavailable if it could not be."""
        loop = asyncio.get_running_loop()
        state = self._loops.setdefault(loop, _Loop())
        done: asyncio.Future[None] = loop.create_future()
        state.waiting.append((inbox_row(msg, received_at), done))
        if state.flushing is None or state.flushing.done():
            state.flushing = loop.create_task(self._flush(state))
        # Shielded: a client that hangs up does not un-queue a text being committed.
        await asyncio.shield(done)

    async def _flush(self, state: _Loop) -> None:
        while state.waiting:
            batch = state.waiting[:self.max_batch]
            del state.waiting[:self.max_batch]
            error: Exception | None = None
            try:
                await self._insert(state, [row for row, _ in batch])
            except Exception as exc:  # the database is away: these webhooks answer 503
                log.exception("inbox commit failed", extra=log_fields(texts=len(batch)))
                error = exc
                await _discard(state)
            resolve([done for _, done in batch], error)
            if error is None:
                self.counted(len(batch))

    async def _insert(self, state: _Loop, rows: list[dict[str, Any]]) -> None:
        if state.conn is None or state.conn.closed:
            state.conn = await psycopg.AsyncConnection.connect(
                autocommit=True, connect_timeout=10, **self._connect_kwargs)
            await state.conn.execute(PREPARE)
        await execute_prepared(state.conn.pgconn, STATEMENT, batch_json(rows))

    async def aclose(self) -> None:
        """Commit what this loop has been handed, then close its connection."""
        state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is None:
            return
        if state.flushing is not None:
            await asyncio.shield(state.flushing)
        await _discard(state)


async def _discard(state: _Loop) -> None:
    conn, state.conn = state.conn, None
    if conn is not None:
        try:
            await conn.close()
        except psycopg.Error:
            pass


async def execute_prepared(pgconn: pq.abc.PGconn, name: bytes, param: bytes) -> None:
    """Run a prepared statement with one text parameter on a nonblocking connection, awaiting
    its socket on the running loop; raise psycopg.OperationalError if it fails."""
    loop = asyncio.get_running_loop()
    pgconn.send_query_prepared(name, [param])
    while pgconn.flush():  # the socket's buffer is full: wait until it takes the rest
        await _ready(loop, pgconn.socket, loop.add_writer, loop.remove_writer)
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            break
        await _ready(loop, pgconn.socket, loop.add_reader, loop.remove_reader)
    failed = None
    while (result := pgconn.get_result()) is not None:
        if result.status != pq.ExecStatus.COMMAND_OK:
            failed = result.error_message.decode("utf-8", "replace")
    if failed is not None:
        raise psycopg.OperationalError(failed)


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, add: Any, remove: Any) -> None:
    ready = loop.create_future()
    add(fd, ready.set_result, None)
    try:
        await ready
    finally:
        remove(fd)
