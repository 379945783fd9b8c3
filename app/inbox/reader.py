"""The reader: each acknowledged text, read from the inbox into its case, in arrival order.

Several texts, one transaction: claim the oldest due texts (up to BATCH, the first waiting
from each of their numbers), lock their texters, and for each text in turn store the message,
step the conversation, decide and queue the replies; then delete the inbox rows read. All commit together or none does, so a crash at any
point leaves every text of the batch in the inbox to be read again, and a text is never read
twice. Each text's own work runs in a SAVEPOINT: a text that fails is undone alone, and the
rest of its batch still commits.

Order per texter holds across processors (threads, processes, instances): a text is read only
while its texter's row is locked and no earlier text of theirs is still waiting, other than
those read before it in the same transaction.

A text the conversation cannot read (a bug, not the database) is stored on its case without
the conversation's answer, for an operator to read, and the failure is audited: no text may
stay unread because of what it says.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased

from app.audit.service import record
from app.cases.intake import receive
from app.cases.service import lock_reporters, open_cases_of, received_of
from app.inbox.inbound import Inbound
from app.inbox.writer import InboxWriter
from app.kit.db import unit_of_work, utcnow
from app.kit.events import Kind, stage
from app.kit.logs import log_fields
from app.kit.loops import Loop
from app.kit.metrics import PROCESSOR_LAG_SECONDS, TEXTS_REFUSED
from app.kit.runtime import Runtime
from app.models import Case, Inbox, Reporter

log = logging.getLogger("textline.processor")

POLL_SECONDS = 1.0  # picks up retries that came due and texts left by a stopped instance
MAX_BACKOFF_SECONDS = 300
# Texts claimed per transaction. A commit (its wait for the disk, the audit chain's head) and
# the look-ups are shared by the batch: several times the texts a second of one per transaction
# (bench/README.md, "Reading").
BATCH = 32
# A batch stops taking new texts after this long; the rest are read by the next one. On SQLite
# the batch holds the one write lock, which an operator's action and the senders wait for (not
# the webhook: its texts land in a file of their own meanwhile, app/inbox/landing.py).
BATCH_SECONDS = 0.05


class _Pace:
    """Seconds of reading a text, as the last batches went (a moving average): a batch claims
    only the texts it can read within its time, since each claimed text costs its texter's
    lock, its open case's load and its duplicate check whether it is read or left for the next
    batch. Shared by the threads of one process; a stale figure only sizes a claim."""

    seconds = 0.0

    @classmethod
    def claim(cls, limit: int, within: float) -> int:
        if cls.seconds <= 0:
            return limit
        return max(1, min(limit, int(within / cls.seconds) + 1))

    @classmethod
    def measured(cls, seconds: float, texts: int) -> None:
        if texts:
            each = seconds / texts
            cls.seconds = each if cls.seconds <= 0 else (cls.seconds + each) / 2


@dataclass(frozen=True)
class Processed:
    sid: str
    case_id: int | None  # None: a duplicate of a text already stored, or skipped
    opened: bool = False
    skipped: bool = False  # left for later: an earlier text waits, or the database failed
    received_at: datetime | None = None  # the text's arrival (for the lag and its trace)
    began_ns: int = 0  # when its reading began (Unix nanoseconds), for its trace


def _claim(session: Session, now: datetime, skip: set[int], limit: int) -> list[Inbox]:
    """The oldest due texts that are each the first still waiting from their number.

    A later text of a number is claimed only once its earlier ones are read, never beside them:
    two processors then never hold one number's texts at once (one would have to leave its
    text for a later pass), and a number's texts are read one batch after the other.
    """
    earlier = aliased(Inbox)
    query = (select(Inbox).where(Inbox.next_attempt_at <= now,
                                 ~exists().where(earlier.phone == Inbox.phone,
                                                 earlier.id < Inbox.id))
             .order_by(Inbox.id).limit(limit))
    if skip:
        query = query.where(Inbox.id.not_in(skip))
    if session.get_bind().dialect.name == "postgresql":
        # Other processors skip the rows this one holds; on SQLite the write lock is global.
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query).scalars())


def _inbound(row: Inbox) -> Inbound:
    return Inbound(sid=row.provider_sid, phone=row.phone, to=row.to_number, body=row.body,
                   media=list(row.media or []))


class _Batch:
    """What a batch looks up once for all its texts, under their texters' locks."""

    def __init__(self, session: Session, rows: list[Inbox]) -> None:
        first_seen: dict[str, datetime] = {}
        for row in rows:
            first_seen.setdefault(row.phone, row.received_at)
        self.reporters: dict[str, Reporter] = lock_reporters(session, first_seen)
        # Every text still waiting from these numbers, up to the batch's last: a text is read
        # only once all of its number's earlier ones have been read, in this batch or before.
        waiting = session.execute(select(Inbox.phone, Inbox.id).where(
            Inbox.phone.in_(list(first_seen)), Inbox.id <= rows[-1].id)).all()
        self.earlier: dict[str, list[int]] = {}
        for phone, row_id in sorted(waiting, key=lambda r: r[1]):
            self.earlier.setdefault(phone, []).append(row_id)
        self.stored = received_of(session, [r.provider_sid for r in rows])
        self.open_cases: dict[int, Case] = open_cases_of(
            session, [r.id for r in self.reporters.values()])
        self.read: set[int] = set()  # inbox rows read in this batch, deleted at its end

    def blocked(self, row: Inbox) -> bool:
        return any(i < row.id and i not in self.read for i in self.earlier.get(row.phone, ()))


def _read_batch(session: Session, rt: Runtime, rows: list[Inbox], now: datetime,
                skip: set[int], current: list[Inbox]) -> list[Processed]:
    batch = _Batch(session, rows)
    began_batch = time.perf_counter()
    done: list[Processed] = []
    for row in rows:
        if done and time.perf_counter() - began_batch > BATCH_SECONDS:
            break  # the rest stay due, for the next batch
        if batch.blocked(row):
            skip.add(row.id)
            done.append(Processed(row.provider_sid, None, skipped=True))
            continue
        current[:] = [row]
        began = time.time_ns()
        result = _read(session, rt, batch, row, now)
        current.clear()
        if result is None:
            skip.add(row.id)
            done.append(Processed(row.provider_sid, None, skipped=True))
        else:
            batch.read.add(row.id)
            done.append(replace(result, received_at=row.received_at, began_ns=began))
    _Pace.measured(time.perf_counter() - began_batch, len(batch.read))
    if batch.read:
        session.execute(delete(Inbox).where(Inbox.id.in_(batch.read)))
    return done


def _read(session: Session, rt: Runtime, batch: _Batch, row: Inbox,
          now: datetime) -> Processed | None:
    """One text, in its own SAVEPOINT; None if it could not be read and waits for a retry."""
    reporter = batch.reporters[row.phone]
    for converse in (True, False):
        try:
            with session.begin_nested():
                # The text's own arrival time, not the reading's: the case, the replies and
                # time-of-day rules are as of when the texter sent it, however long it waited.
                result = receive(session, rt, _inbound(row), row.received_at, reporter=reporter,
                                 converse=converse, stored=row.provider_sid in batch.stored,
                                 open_case=batch.open_cases.get(reporter.id))
                if not converse and result is not None:
                    record(session, "system", "intake.failed", case_id=result.case.id,
                           data={"message_id": result.message_id})
        except Exception as exc:
            if not session.is_active:
                raise  # the transaction itself is lost, not only this text's part of it
            batch.open_cases.pop(reporter.id, None)  # a case opened and undone with the text
            if isinstance(exc, DBAPIError) or not converse:
                _postpone(row, exc, now)
                if not isinstance(exc, DBAPIError):
                    log.exception("text not stored; will retry", extra=log_fields(
                        sid=row.provider_sid, error=type(exc).__name__))
                return None
            # The conversation failed on this text: store it plainly, once, for a person.
            log.exception("conversation failed on a text; stored for an operator",
                          extra=log_fields(sid=row.provider_sid, error=type(exc).__name__))
            continue
        batch.stored.add(row.provider_sid)
        if result is None:
            return Processed(row.provider_sid, None)
        if result.case.open_reporter_id == reporter.id:
            batch.open_cases[reporter.id] = result.case
        return Processed(row.provider_sid, result.case.id, result.opened)
    return None  # unreachable: the second pass returns


def _postpone(row: Inbox, exc: Exception, now: datetime) -> None:
    """The text stays in the inbox, due again after a backoff; committed with the batch."""
    log.warning("inbox text not read; will retry", extra=log_fields(
        inbox_id=row.id, error=str(exc).splitlines()[0][:200]))
    row.attempts += 1
    row.last_error = str(exc).splitlines()[0][:500]
    row.next_attempt_at = now + timedelta(seconds=min(MAX_BACKOFF_SECONDS,
                                                      2 ** min(row.attempts, 10)))


def process_due(rt: Runtime, *, skip: set[int] | None = None, now: datetime | None = None,
                limit: int = BATCH) -> list[Processed] | None:
    """Read the oldest waiting texts that are due, up to `limit`, in one transaction; what
    became of each (in arrival order), or None when none is due.

    A text that must wait (an earlier one from its number is being read elsewhere, or the
    database failed on it) is added to `skip` and reported as skipped, so that a caller looping
    over the inbox moves past it. A text claimed but left for the next batch (BATCH_SECONDS)
    is neither.
    """
    skip = skip if skip is not None else set()
    now = now or utcnow()
    current: list[Inbox] = []  # the text being read, should the whole transaction fail
    row_id, sid = None, ""
    landing = getattr(rt.inbox, "landing", None)
    done: list[Processed] | None = None
    moved: list[int] = []
    try:
        with rt.work() as session:
            moved = _move_landed(session, rt.inbox) if landing is not None else []
            rows = _claim(session, now, skip, _Pace.claim(limit, BATCH_SECONDS))
            if rows:
                try:
                    done = _read_batch(session, rt, rows, now, skip, current)
                finally:
                    if current:
                        row_id, sid = current[0].id, current[0].provider_sid
                for d in done:
                    _announce(session, d)
    except DBAPIError as exc:
        if row_id is None:
            raise  # not one text's doing (the claim, the commit): the caller backs off
        _retry_later(rt, row_id, exc, now)
        skip.add(row_id)
        return [Processed(sid, None, skipped=True)]
    if moved:
        landing.remove(moved)  # the inbox has them, committed
    if done is None:
        return None
    _measure(rt, done)
    return done


def _move_landed(session: Session, writer: InboxWriter) -> list[int]:
    """Into the inbox, in this transaction: the texts the webhook landed while the write lock
    was held (app/inbox/landing.py), but for any whose MessageSid is already stored (moved and
    read before a crash left it landed); their seqs, to remove once this has committed."""
    landed = writer.landing.oldest()  # type: ignore[union-attr]
    if not landed:
        return []
    rows = [row for _, row in landed]
    stored = received_of(session, [row["provider_sid"] for row in rows])
    insert = writer.insert
    fresh = [insert.values(row) for row in rows if row["provider_sid"] not in stored]
    if fresh:
        session.connection().exec_driver_sql(insert.sql, fresh)
    return [seq for seq, _ in landed]


def _measure(rt: Runtime, done: list[Processed]) -> None:
    """Once the batch has committed: each text's wait to be read, its trace's "read" step,
    and the duplicates met."""
    committed, ended = utcnow(), time.time_ns()
    for d in done:
        if d.skipped or d.received_at is None:
            continue
        if d.case_id is None:
            TEXTS_REFUSED.labels(reason="duplicate").inc()
            continue
        PROCESSOR_LAG_SECONDS.observe(max(0.0, (committed - d.received_at).total_seconds()))
        if rt.tracer is not None:
            rt.tracer.span("read", d.sid, d.began_ns, ended, case=d.case_id, opened=d.opened)


def process_next(rt: Runtime, *, skip: set[int] | None = None,
                 now: datetime | None = None) -> Processed | None:
    """Read the oldest waiting text that is due; None when there is none (process_due)."""
    done = process_due(rt, skip=skip, now=now, limit=1)
    return None if done is None else done[0]


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


def _announce(session: Session, done: Processed) -> None:
    """Tell the dashboards of a text read, once its batch commits (rt.work)."""
    if done.skipped:
        return
    if done.case_id is None:
        log.info("duplicate text ignored", extra=log_fields(sid=done.sid))
        return
    log.info("text read", extra=log_fields(sid=done.sid, case=done.case_id))
    # The MessageSid (an identifier, never the words) lets a client follow its own text.
    stage(session, Kind.CASE_OPENED if done.opened else Kind.MESSAGE_NEW, done.case_id,
          sid=done.sid)


def process_pending(rt: Runtime, *, limit: int | None = None) -> int:
    """Read every text that is due now (at most `limit`); returns how many were read."""
    skip: set[int] = set()
    count = 0
    while limit is None or count < limit:
        done = process_due(rt, skip=skip,
                           limit=BATCH if limit is None else min(BATCH, limit - count))
        if done is None:
            break
        count += sum(not d.skipped for d in done)
    return count


def inbox_depth(session: Session, now: datetime) -> tuple[int, float]:
    """How many texts wait to be read, and for how many seconds the oldest has waited."""
    count, oldest = session.execute(select(func.count(Inbox.id), func.min(Inbox.received_at))).one()
    if not count or oldest is None:
        return 0, 0.0
    return int(count), max(0.0, (now - oldest).total_seconds())


class InboxProcessor(Loop):
    """A background loop reading the inbox: at once when notified, else every POLL_SECONDS."""

    def __init__(self, rt: Runtime, *, poll: float = POLL_SECONDS) -> None:
        # run_at_start: texts left waiting by the last run are read first.
        super().__init__("inbox-processor", poll=poll, max_backoff=30.0, run_at_start=True)
        self.rt = rt

    def step(self) -> bool:
        """Read every text that is due, batch by batch, then sleep."""
        skip: set[int] = set()
        writer = self.rt.inbox
        if writer is not None:
            writer.reading = True
        try:
            while not self.stopping.is_set():
                if process_due(self.rt, skip=skip) is None:
                    break
        finally:
            if writer is not None:
                writer.reading = False
        return False

    def failed(self, exc: BaseException) -> None:
        log.exception("inbox processing failed", extra=log_fields(failures=self.failures))
