"""The processor: each acknowledged text, read from the inbox into its case, in arrival order.

One text, one transaction: lock the texter, store the message, step the conversation, decide,
queue the replies, delete the inbox row; all commit together or none does, so a crash at any
point leaves the text in the inbox to be read again, and a text is never read twice.

Order per texter holds across processors (threads, processes, instances): a text is read only
while its texter's row is locked and no earlier text of theirs is still waiting.

A text the conversation cannot read (a bug, not the database) is stored on its case without
the conversation's answer, for an operator to read, and the failure is audited: no text may
stay unread because of what it says.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.audit.service import record
from app.cases.intake import receive
from app.cases.service import Inbound, lock_reporter
from app.db import unit_of_work, utcnow
from app.logs import log_fields
from app.models import Inbox
from app.runtime import Runtime

log = logging.getLogger("textline.processor")

POLL_SECONDS = 1.0  # picks up retries that came due and texts left by a stopped instance
MAX_BACKOFF_SECONDS = 300


@dataclass(frozen=True)
class Processed:
    sid: str
    case_id: int | None  # None: a duplicate of a text already stored, or skipped
    opened: bool = False
    skipped: bool = False  # left for later: an earlier text waits, or the database failed


class _Blocked(Exception):
    """An earlier text from the same number is still waiting: read that one first."""


def _claim(session: Session, now: datetime, skip: set[int]) -> Inbox | None:
    query = select(Inbox).where(Inbox.next_attempt_at <= now).order_by(Inbox.id).limit(1)
    if skip:
        query = query.where(Inbox.id.not_in(skip))
    if session.get_bind().dialect.name == "postgresql":
        # Other processors skip the row this one holds; on SQLite the write lock is global.
        query = query.with_for_update(skip_locked=True)
    return session.execute(query).scalar_one_or_none()


def _inbound(row: Inbox) -> Inbound:
    return Inbound(sid=row.provider_sid, phone=row.phone, to=row.to_number, body=row.body,
                   media=list(row.media or []))


def _read(session: Session, rt: Runtime, row: Inbox, *, converse: bool) -> Processed:
    reporter = lock_reporter(session, row.phone, row.received_at)
    earlier = session.execute(
        select(Inbox.id).where(Inbox.phone == row.phone, Inbox.id < row.id).limit(1)).first()
    if earlier is not None:
        raise _Blocked
    # The text's own arrival time, not the reading's: the case, the replies and time-of-day
    # rules are as of when the texter sent it, however long it waited here.
    result = receive(session, rt, _inbound(row), row.received_at, reporter=reporter,
                     converse=converse)
    if not converse and result is not None:
        record(session, "system", "intake.failed", case_id=result.case.id,
               data={"message_id": result.message.id})
    session.execute(delete(Inbox).where(Inbox.id == row.id))
    if result is None:
        return Processed(row.provider_sid, None)
    return Processed(row.provider_sid, result.case.id, result.opened)


def process_next(rt: Runtime, *, skip: set[int] | None = None,
                 now: datetime | None = None) -> Processed | None:
    """Read the oldest waiting text that is due; None when there is none.

    A text that must wait (an earlier one from its number is being read elsewhere, or the
    database failed on it) is added to `skip` and returned as skipped, so that a caller looping
    over the inbox moves past it.
    """
    skip = skip if skip is not None else set()
    now = now or utcnow()
    converse, row_id, sid = True, None, ""
    for attempt in range(2):
        try:
            with unit_of_work(rt.sessions) as session:
                row = _claim(session, now, skip)
                if row is None:
                    return None
                row_id, sid = row.id, row.provider_sid
                done = _read(session, rt, row, converse=converse)
            _announce(rt, done)
            return done
        except _Blocked:
            skip.add(row_id)  # type: ignore[arg-type]
            return Processed(sid, None, skipped=True)
        except DBAPIError as exc:
            if row_id is None:
                raise
            _retry_later(rt, row_id, exc, now)
            skip.add(row_id)
            return Processed(sid, None, skipped=True)
        except Exception as exc:
            if row_id is None or attempt == 1:
                raise
            # The conversation failed on this text: store it plainly, once, for a person.
            log.exception("conversation failed on a text; stored for an operator",
                          extra=log_fields(sid=sid, error=type(exc).__name__))
            converse = False
    return None  # unreachable: the loop returns or raises


def _retry_later(rt: Runtime, row_id: int, exc: Exception, now: datetime) -> None:
    log.warning("inbox text not read; will retry", extra=log_fields(
        inbox_id=row_id, error=str(exc).splitlines()[0][:200]))
    try:
        with unit_of_work(rt.sessions) as session:
            row = session.get(Inbox, row_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = str(exc).splitlines()[0][:500]
            row.next_attempt_at = now + timedelta(
                seconds=min(MAX_BACKOFF_SECONDS, 2 ** min(row.attempts, 10)))
    except DBAPIError:
        pass  # the database is still away: the row is due as it was, and is tried again


def _announce(rt: Runtime, done: Processed) -> None:
    if done.case_id is None:
        log.info("duplicate text ignored", extra=log_fields(sid=done.sid))
        return
    log.info("text read", extra=log_fields(sid=done.sid, case=done.case_id))
    # The MessageSid (an identifier, never the words) lets a client follow its own text.
    rt.events.publish("case.opened" if done.opened else "message.new", done.case_id, sid=done.sid)


def process_pending(rt: Runtime, *, limit: int | None = None) -> int:
    """Read every text that is due now (at most `limit`); returns how many were read."""
    skip: set[int] = set()
    count = 0
    while limit is None or count < limit:
        done = process_next(rt, skip=skip)
        if done is None:
            break
        if not done.skipped:
            count += 1
    return count


def inbox_depth(session: Session, now: datetime) -> tuple[int, float]:
    """How many texts wait to be read, and for how many seconds the oldest has waited."""
    count, oldest = session.execute(select(func.count(Inbox.id), func.min(Inbox.received_at))).one()
    if not count or oldest is None:
        return 0, 0.0
    return int(count), max(0.0, (now - oldest).total_seconds())


class InboxProcessor:
    """A daemon thread reading the inbox: at once when notified, else every POLL_SECONDS."""

    def __init__(self, rt: Runtime, *, poll: float = POLL_SECONDS) -> None:
        self.rt = rt
        self.poll = poll
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._wake.set()  # texts left waiting by the last run are read first
        self._thread = threading.Thread(target=self._run, name="inbox-processor", daemon=True)
        self._thread.start()

    def notify(self, _count: int = 0) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.wait(self.poll if failures == 0 else min(30.0, self.poll * 2 ** failures))
            self._wake.clear()
            skip: set[int] = set()
            try:
                while not self._stop.is_set():
                    done = process_next(self.rt, skip=skip)
                    if done is None:
                        break
                failures = 0
            except Exception:
                failures += 1
                log.exception("inbox processing failed", extra=log_fields(failures=failures))

