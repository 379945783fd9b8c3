"""The outbox worker: delivers queued texts and integration calls, never losing one, never twice.

Each row goes through two short transactions with the network call between them:
  1. claim: pick due rows (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the BEGIN IMMEDIATE
     lock), mark each "sending", attempts + 1, claimed_at, and COMMIT;
  2. call the provider;
  3. finish: only if the row is still ours (same attempt), store the SID and mark it done,
     or schedule a retry with backoff, or mark it failed with the reason.
A crash between 2 and 3 leaves the row "sending". Once its lease has run out another worker
reclaims it and, before sending again, asks the provider whether the text already went, adopting
that SID if it did. docs/outbox.md describes the window that remains.

Texts to one number go out in the order they were queued: a text is claimed only while no
earlier text to the same texter is still pending or sending (done or failed both release it),
so two texts to one number are never in flight at once, in one process or across many.

OutboxWorker keeps many sends in flight at once (TEXTLINE_OUTBOX_IN_FLIGHT): its loop claims as
many rows as it has free slots in one transaction, hands each to a pool of threads that make
the blocking provider call, and finishes the answers that have come back together in one
transaction. Threads rather than an asyncio client: the provider calls (twilio's client over
requests, the integration sender over httpx) are blocking and release the interpreter lock while
they wait, so a bounded pool gives the same concurrency with the same code path, error
classification and crash recovery as a single send, and needs no new dependency (twilio's async
client needs aiohttp). The pool's size is the bound on requests in flight.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from app.audit.service import record
from app.conversation.gsm import to_gsm7
from app.kit.db import utcnow
from app.kit.events import Kind, stage
from app.kit.logs import log_fields, mask_phone
from app.kit.loops import Loop
from app.kit.metrics import ANSWER_SECONDS, SENDS
from app.kit.runtime import Runtime
from app.models import Case, Message, Outbox, Reporter
from app.sms.integration import IntegrationSender
from app.sms.outbox import INTEGRATION, SMS
from app.sms.providers import (
    OPTED_OUT,
    STATUS_RANK,
    TWILIO_STATUS,
    SendError,
    Sent,
    SmsProvider,
    classify,
    provider_for,
)

log = logging.getLogger("textline.outbox")

LEASE = timedelta(seconds=60)  # far beyond one provider call (10 s timeout) and one commit
# (the default of Settings.outbox_lease_seconds)
SLACK = timedelta(minutes=5)  # our clock against the provider's, when looking for an earlier send
MAX_ATTEMPTS = 10
BACKOFF_BASE, BACKOFF_CAP = 2.0, 300.0  # seconds: 1-2, 2-4, 4-8 ... 7 to 14 minutes in all
POLL_SECONDS = 0.5  # picks up retries that came due, and rows queued by other processes
GATHER_SECONDS = 0.02  # after a wake-up: let more commits and answers land, then one transaction each


@dataclass
class Claim:
    id: int
    kind: str
    attempts: int
    claimed_at: datetime
    started: float  # time.monotonic() at the claim's commit
    case_id: int | None
    message_id: int | None
    payload: dict[str, Any]
    to: str = ""
    body: str = ""
    check_since: datetime | None = None  # an earlier attempt may have sent it: look first


def lease(rt: Runtime) -> timedelta:
    return timedelta(seconds=rt.settings.outbox_lease_seconds)


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential, with jitter in the upper half so that retries spread yet never shrink."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=step / 2 + (rng or random).uniform(0, step / 2))


def drain_once(rt: Runtime, *, batch: int = 20, now: datetime | None = None,
               provider: SmsProvider | None = None,
               integration: IntegrationSender | None = None,
               stop: threading.Event | None = None) -> int:
    """Deliver up to batch due rows, one claim at a time; returns how many were handled.

    `now` fixes the clock (tests); by default each step reads the real one.
    """
    provider = provider or provider_for(rt.settings)
    own_sender: IntegrationSender | None = None
    handled = 0
    try:
        while handled < batch and not (stop and stop.is_set()):
            claim = _claim(rt, now or utcnow())
            if claim is None:
                break
            handled += 1
            if claim.kind == INTEGRATION and integration is None:
                integration = own_sender = IntegrationSender(rt.settings)
            _deliver(rt, claim, provider, integration, now)
    finally:
        if own_sender is not None:
            own_sender.close()
    return handled


def _claim(rt: Runtime, now: datetime) -> Claim | None:
    claims = claim_due(rt, now, 1)
    return claims[0] if claims else None


def _first_for_its_number() -> Any:
    """A text with no earlier text to the same texter still pending or sending.

    Texts are queued on a case, to its reporter's number (add_bot_reply, actions.reply), so
    "the same number" is the same reporter, whichever of their cases the text is on.
    """
    earlier, earlier_case = aliased(Outbox), aliased(Case)
    reporter = (select(Case.reporter_id).where(Case.id == Outbox.case_id)
                .correlate(Outbox).scalar_subquery())
    waiting = (exists().where(earlier.kind == SMS, earlier.id < Outbox.id,
                              earlier.state.in_(("pending", "sending")),
                              earlier.case_id == earlier_case.id,
                              earlier_case.reporter_id == reporter).correlate(Outbox))
    return or_(Outbox.kind != SMS, ~waiting)


def claim_due(rt: Runtime, now: datetime, limit: int) -> list[Claim]:
    """Claim up to `limit` due rows in one transaction, oldest first, each text only when it is
    the first one waiting for its number."""
    with rt.work() as session:
        due = or_(and_(Outbox.state == "pending", Outbox.next_attempt_at <= now),
                  and_(Outbox.state == "sending", Outbox.claimed_at <= now - lease(rt)))
        stmt = (select(Outbox).where(due, _first_for_its_number())
                .order_by(Outbox.next_attempt_at, Outbox.id).limit(limit))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=Outbox)
        rows = session.execute(stmt).scalars().all()
        if not rows:
            return []
        ids = [r.message_id for r in rows if r.kind == SMS and r.message_id is not None]
        bodies: dict[int, str] = {}
        if ids:
            found = session.execute(select(Message.id, Message.body).where(Message.id.in_(ids)))
            bodies = {mid: body for mid, body in found}
        claims = []
        for row in rows:
            payload = dict(row.payload or {})
            if row.state == "sending" and row.kind == SMS and row.claimed_at is not None:
                # Its worker died or stalled after claiming: that attempt may have reached the
                # provider.
                payload.setdefault("check_since", row.claimed_at.isoformat())
                log.warning("outbox lease expired; checking for an earlier send",
                            extra=log_fields(outbox=row.id, attempts=row.attempts))
            row.state, row.attempts, row.claimed_at = "sending", row.attempts + 1, now
            row.payload = payload
            claim = Claim(id=row.id, kind=row.kind, attempts=row.attempts, claimed_at=now,
                          started=0.0, case_id=row.case_id, message_id=row.message_id,
                          payload=payload)
            if row.kind == SMS:
                claim.to = str(payload.get("to") or "")
                since = payload.get("check_since")
                claim.check_since = datetime.fromisoformat(since) if since else None
                claim.body = bodies.get(row.message_id) or ""
            claims.append(claim)
    started = time.monotonic()
    for claim in claims:
        claim.started = started
    return claims


@dataclass
class Outcome:
    """What one attempt came to, waiting to be stored."""

    claim: Claim
    sent: Sent | None = None
    adopted: bool = False
    error: SendError | None = None
    late: bool = False  # not attempted: the claim was too old to send safely


def attempt(rt: Runtime, claim: Claim, provider: SmsProvider,
            integration: IntegrationSender | None) -> Outcome:
    """Make the call for one claim (no database write); never raises."""
    if time.monotonic() - claim.started > lease(rt).total_seconds() / 2:
        # So late that another worker may soon reclaim it; sending now could race its check.
        log.warning("claim too old to send safely; left to the lease",
                    extra=log_fields(outbox=claim.id))
        return Outcome(claim, late=True)
    try:
        if claim.kind == SMS:
            sent, adopted = _send_sms(rt, claim, provider)
            return Outcome(claim, sent=sent, adopted=adopted)
        if claim.kind == INTEGRATION and integration is not None:
            integration.deliver(claim.id, claim.payload)
            return Outcome(claim)
        raise SendError(f"unknown outbox kind {claim.kind!r}", transient=False)
    except Exception as exc:
        return Outcome(claim, error=classify(exc))


def _deliver(rt: Runtime, claim: Claim, provider: SmsProvider,
             integration: IntegrationSender | None, now: datetime | None) -> None:
    done = attempt(rt, claim, provider, integration)
    if done.late:
        return
    if done.error is not None:
        _finish_failed(rt, claim, done.error, now or utcnow())
    else:
        _finish_done(rt, claim, done.sent, done.adopted, now or utcnow())


def finish_many(rt: Runtime, outcomes: list[Outcome], now: datetime | None = None) -> None:
    """Store many outcomes in one transaction (one commit, not one per text), each fenced by its
    own claim. If that transaction fails, each is tried alone, so that one bad row does not hold
    the others; one that still fails stays "sending" and its lease brings it back."""
    outcomes = [o for o in outcomes if not o.late]
    if not outcomes:
        return
    now = now or utcnow()
    after: list[Any] = []
    try:
        with rt.work() as session:
            # Every row (locked) and every message in two queries, not two per answer.
            _lock_rows(session, [o.claim.id for o in outcomes])
            ids = [o.claim.message_id for o in outcomes if o.claim.message_id is not None]
            if ids:
                session.execute(select(Message).where(Message.id.in_(ids))).scalars().all()
            for o in outcomes:
                if o.error is not None:
                    after.append(_apply_failed(rt, session, o.claim, o.error, now, locked=True))
                else:
                    after.append(_apply_done(rt, session, o.claim, o.sent, o.adopted, now,
                                             locked=True))
    except Exception:
        log.exception("outbox results not stored together; storing them one by one",
                      extra=log_fields(count=len(outcomes)))
        for o in outcomes:
            try:
                if o.error is not None:
                    _finish_failed(rt, o.claim, o.error, now)
                else:
                    _finish_done(rt, o.claim, o.sent, o.adopted, now)
            except Exception:
                log.exception("outbox result not stored; the lease will bring it back",
                              extra=log_fields(outbox=o.claim.id))
        return
    for announce in after:
        if announce is not None:
            announce()


def _send_sms(rt: Runtime, claim: Claim, provider: SmsProvider) -> tuple[Sent, bool]:
    if claim.message_id is None or not claim.to or not claim.body:
        raise SendError("nothing to send: message, number or text missing", transient=False)
    if claim.check_since is not None:
        earlier = _earlier_send(rt, claim, provider)
        if earlier is not None:
            log.warning("adopting an earlier send found at the provider",
                        extra=log_fields(outbox=claim.id, sid=earlier.sid))
            return earlier, True
    return provider.send(claim.to, claim.body), False


def _same_text(a: str, b: str) -> bool:
    # The provider may have swapped look-alike characters (Twilio's Smart Encoding).
    return a == b or to_gsm7(a).strip() == to_gsm7(b).strip()


def _earlier_send(rt: Runtime, claim: Claim, provider: SmsProvider) -> Sent | None:
    assert claim.check_since is not None
    found = [s for s in provider.recent(claim.to, claim.check_since - SLACK)
             if s.sid and _same_text(s.body, claim.body)]
    if not found:
        return None
    with rt.sessions() as session:
        # A SID one of our messages already holds is that message's, not this one's: the same
        # words ("Thank you") may well go to one number twice.
        taken = set(session.execute(
            select(Message.provider_sid).where(Message.provider_sid.in_([s.sid for s in found]))
        ).scalars())
    free = [s for s in found if s.sid not in taken]
    free.sort(key=lambda s: (s.created_at is None, s.created_at or claim.claimed_at))
    return free[0] if free else None


def _lock_rows(session: Session, ids: list[int]) -> Any:
    stmt = select(Outbox).where(Outbox.id.in_(ids))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(key_share=True)
    return session.execute(stmt).scalars().all()


def _owned(session: Session, claim: Claim, *, locked: bool = False) -> Outbox | None:
    """The row, locked, if this claim still holds it (attempts is the fencing token).

    locked: the caller has already loaded and locked it in this session (_lock_rows)."""
    if locked:
        row = session.get(Outbox, claim.id)
    else:
        rows = _lock_rows(session, [claim.id])
        row = rows[0] if rows else None
    if row is None or row.state != "sending" or row.attempts != claim.attempts:
        log.error("outbox lease lost before the result was stored",
                  extra=log_fields(outbox=claim.id, attempts=claim.attempts,
                                   now_state=row.state if row else None))
        return None
    return row


def _finish_done(rt: Runtime, claim: Claim, sent: Sent | None, adopted: bool,
                 now: datetime) -> None:
    with rt.work() as session:
        announce = _apply_done(rt, session, claim, sent, adopted, now)
    if announce is not None:
        announce()


def _apply_done(rt: Runtime, session: Session, claim: Claim, sent: Sent | None, adopted: bool,
                now: datetime, *, locked: bool = False) -> Any:
    """Store a success; returns what to say once committed (None if the claim was lost)."""
    row = _owned(session, claim, locked=locked)
    if row is None:
        return None
    status = None
    row.state, row.done_at, row.last_error = "done", now, None
    row.payload = {k: v for k, v in (row.payload or {}).items() if k != "check_since"}
    if claim.kind == SMS and sent is not None:
        msg = session.get(Message, claim.message_id)
        if msg is not None:
            msg.provider_sid = sent.sid
            status = _raise_status(msg, TWILIO_STATUS.get(sent.status, "sent"), now)
            msg.error = None
            record(session, "system", "message.sent", case_id=claim.case_id, at=now,
                   data={"message_id": msg.id, "sid": sent.sid, "via": "rest",
                         "attempts": claim.attempts, "recovered": adopted})
            stage(session, Kind.MESSAGE_STATUS, claim.case_id, message_id=claim.message_id,
                  status=status)
    else:
        record(session, "system", "integration.delivered", case_id=claim.case_id, at=now,
               data={"delivery": claim.id, "attempts": claim.attempts})

    answers = row.payload.get("answers") if claim.kind == SMS and sent is not None else None

    def announce() -> None:
        SENDS.labels(kind=claim.kind, outcome="accepted", code="").inc()
        if answers:
            _answered(rt, claim, answers, now)
        log.info("outbox delivered", extra=log_fields(outbox=claim.id, kind=claim.kind,
                                                      attempts=claim.attempts, adopted=adopted,
                                                      to=mask_phone(claim.to)))

    return announce


def _answered(rt: Runtime, claim: Claim, answers: dict[str, Any], now: datetime) -> None:
    """The provider accepted the first answer to a text: the passenger's wait, and the last
    step of the text's trace (from this attempt's claim to its acceptance)."""
    try:
        arrived = datetime.fromisoformat(str(answers["at"]))
    except (KeyError, ValueError):
        return
    ANSWER_SECONDS.observe(max(0.0, (now - arrived).total_seconds()))
    if rt.tracer is not None:
        rt.tracer.span("answer accepted", str(answers.get("sid", "")),
                       int(claim.claimed_at.timestamp() * 1e9), int(now.timestamp() * 1e9),
                       attempts=claim.attempts)


def _raise_status(msg: Message, new: str, now: datetime) -> str:
    """Move the message's status forward only: a late 'sent' never undoes 'delivered'."""
    if STATUS_RANK.get(new, 0) > STATUS_RANK.get(msg.status, 0):
        msg.status, msg.status_at = new, now
    return msg.status


def _finish_failed(rt: Runtime, claim: Claim, err: SendError, now: datetime) -> None:
    with rt.work() as session:
        announce = _apply_failed(rt, session, claim, err, now)
    if announce is not None:
        announce()


def _apply_failed(rt: Runtime, session: Session, claim: Claim, err: SendError, now: datetime,
                  *, locked: bool = False) -> Any:
    """Store a failure: a retry with backoff, or the end; returns what to say once committed."""
    row = _owned(session, claim, locked=locked)
    if row is None:
        return None
    row.last_error = err.reason[:500]
    if err.maybe_sent and claim.kind == SMS:
        payload = dict(row.payload or {})
        payload.setdefault("check_since", claim.claimed_at.isoformat())
        row.payload = payload
    code = "" if err.code is None else str(err.code)
    if err.transient and row.attempts < MAX_ATTEMPTS:
        row.state, row.next_attempt_at = "pending", now + backoff(row.attempts)
        log.warning("outbox attempt failed; will retry",
                    extra=log_fields(outbox=claim.id, kind=claim.kind, attempts=row.attempts,
                                     reason=err.reason, retry_at=row.next_attempt_at))
        return lambda: SENDS.labels(kind=claim.kind, outcome="retry", code=code).inc()
    reason = err.reason if not err.transient else (
        f"gave up after {row.attempts} attempts: {err.reason}")
    row.state, row.done_at = "failed", now
    if claim.kind == SMS:
        _fail_message(session, claim, err, reason[:200], now)
        stage(session, Kind.MESSAGE_STATUS, claim.case_id, message_id=claim.message_id,
              status="failed")
    else:
        record(session, "system", "integration.failed", case_id=claim.case_id, at=now,
               data={"delivery": claim.id, "attempts": claim.attempts, "reason": reason})

    def announce() -> None:
        SENDS.labels(kind=claim.kind, outcome="failed", code=code).inc()
        log.error("outbox delivery failed", extra=log_fields(outbox=claim.id, kind=claim.kind,
                                                             attempts=claim.attempts,
                                                             reason=reason))

    return announce


def _fail_message(session: Session, claim: Claim, err: SendError, reason: str,
                  now: datetime) -> None:
    msg = session.get(Message, claim.message_id) if claim.message_id is not None else None
    if msg is not None:
        msg.status, msg.error, msg.status_at = "failed", reason, now
    record(session, "system", "message.failed", case_id=claim.case_id, at=now,
           data={"message_id": claim.message_id, "attempts": claim.attempts, "reason": reason,
                 "code": err.code})
    if err.code == OPTED_OUT and claim.case_id is not None:
        opt_out_reporter(session, claim.case_id, now, via="send refused (21610)")


def opt_out_reporter(session: Session, case_id: int, now: datetime, *, via: str) -> None:
    """Twilio says this number has opted out: no more texts to it until it texts START."""
    reporter_id = select(Case.reporter_id).where(Case.id == case_id).scalar_subquery()
    changed = session.execute(
        update(Reporter).where(Reporter.id == reporter_id, Reporter.opted_out.is_(False))
        .values(opted_out=True)
    ).rowcount
    if changed:
        record(session, "system", "reporter.opted_out", case_id=case_id, at=now,
               data={"via": via})


class OutboxWorker(Loop):
    """A background loop keeping up to `in_flight` sends going at once.

    Each step: store the answers that came back (one transaction), then claim as many due rows
    as there are free slots (one transaction) and hand each to the pool. A finished send wakes
    the loop, so its slot is refilled at once; notify() wakes it when rows were queued; it also
    polls every POLL_SECONDS, for retries that came due and rows queued by other processes.
    Only the loop's thread touches the database; the pool's threads only call the provider.
    """

    def __init__(self, rt: Runtime, *, provider: SmsProvider | None = None,
                 integration: IntegrationSender | None = None, in_flight: int | None = None,
                 poll: float = POLL_SECONDS, name: str = "outbox-worker") -> None:
        super().__init__(name, poll=poll, max_backoff=30.0, run_at_start=True,
                         gather=GATHER_SECONDS)
        self.rt = rt
        self.in_flight = max(1, in_flight or rt.settings.outbox_in_flight)
        # Called when a step filled every slot, so more may be due: another loop may help.
        self.on_work: Any = None
        self.provider = provider or provider_for(rt.settings, connections=self.in_flight)
        self.integration = integration
        self._answers: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._busy = 0  # claims handed to the pool and not yet stored (the loop's thread only)
        self._pool: ThreadPoolExecutor | None = None

    def started(self) -> None:
        self._pool = ThreadPoolExecutor(self.in_flight, thread_name_prefix=f"{self.name}-send")

    def step(self) -> bool:
        self._store_answers()
        # Up to in_flight sends run at once; as many more wait, claimed, in the pool's queue,
        # so that a thread whose send ends starts the next at once instead of waiting for this
        # loop's two transactions. A waiting claim is sent within a few round trips, far
        # inside its lease (and attempt() checks).
        free = 2 * self.in_flight - self._busy
        if free <= 0 or self.stopping.is_set():
            return False
        if self.integration is None and self.rt.settings.integration_url:
            self.integration = IntegrationSender(self.rt.settings)
        claims = claim_due(self.rt, utcnow(), free)
        for claim in claims:
            self._busy += 1
            assert self._pool is not None
            self._pool.submit(self._send, claim)
        if len(claims) == free and self.on_work is not None:
            self.on_work()
        return False  # each answer that comes back wakes the loop again

    def _send(self, claim: Claim) -> None:
        try:
            outcome = attempt(self.rt, claim, self.provider, self.integration)
        except BaseException as exc:  # attempt() classifies everything; this is a last guard
            outcome = Outcome(claim, error=SendError(f"{type(exc).__name__}: {exc}",
                                                     transient=True, maybe_sent=True))
        self._answers.put(outcome)
        self.notify()

    def _store_answers(self) -> None:
        outcomes: list[Outcome] = []
        while True:
            try:
                outcomes.append(self._answers.get_nowait())
            except queue.Empty:
                break
        if outcomes:
            self._busy -= len(outcomes)
            finish_many(self.rt, outcomes)

    def finished(self) -> None:
        """Stopping: let the sends in flight end (each is bounded by its timeout), store their
        answers, then close the senders."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        try:
            self._store_answers()
        except Exception:
            log.exception("outbox answers not stored at stop; their leases will bring them back")
        if self.integration is not None:
            self.integration.close()

    def failed(self, exc: BaseException) -> None:
        # The database is away, most likely: rows stay claimed or pending, and come back.
        log.exception("outbox drain failed", extra=log_fields(failures=self.failures))
