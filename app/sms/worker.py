"""The outbox worker: delivers queued texts and integration calls, never losing one, never twice.

Each row goes through two short transactions with the network call between them:
  1. claim: pick one due row (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the BEGIN IMMEDIATE
     lock), mark it "sending", attempts + 1, claimed_at, and COMMIT;
  2. call the provider;
  3. finish: only if the row is still ours (same attempt), store the SID and mark it done,
     or schedule a retry with backoff, or mark it failed with the reason.
A crash between 2 and 3 leaves the row "sending". Once its lease has run out another worker
reclaims it and, before sending again, asks the provider whether the text already went, adopting
that SID if it did. docs/outbox.md describes the window that remains.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.audit.service import record
from app.conversation.gsm import to_gsm7
from app.db import unit_of_work, utcnow
from app.dispatch.handlers import IntegrationSender
from app.logs import log_fields, mask_phone
from app.models import Case, Message, Outbox, Reporter
from app.runtime import Runtime
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
POLL_SECONDS = 0.5
WAKE_GAP = 0.05
WAKE_ON = frozenset({"message.new", "case.updated", "case.opened"})  # may have queued a text


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
    with unit_of_work(rt.sessions) as session:
        due = or_(and_(Outbox.state == "pending", Outbox.next_attempt_at <= now),
                  and_(Outbox.state == "sending", Outbox.claimed_at <= now - lease(rt)))
        stmt = select(Outbox).where(due).order_by(Outbox.next_attempt_at, Outbox.id).limit(1)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        row = session.execute(stmt).scalar_one_or_none()
        if row is None:
            return None
        payload = dict(row.payload or {})
        if row.state == "sending" and row.kind == SMS and row.claimed_at is not None:
            # Its worker died or stalled after claiming: that attempt may have reached the provider.
            payload.setdefault("check_since", row.claimed_at.isoformat())
            log.warning("outbox lease expired; checking for an earlier send",
                        extra=log_fields(outbox=row.id, attempts=row.attempts))
        row.state, row.attempts, row.claimed_at, row.payload = "sending", row.attempts + 1, now, payload
        claim = Claim(id=row.id, kind=row.kind, attempts=row.attempts, claimed_at=now, started=0.0,
                      case_id=row.case_id, message_id=row.message_id, payload=payload)
        if row.kind == SMS:
            claim.to = str(payload.get("to") or "")
            since = payload.get("check_since")
            claim.check_since = datetime.fromisoformat(since) if since else None
            if row.message_id is not None:
                claim.body = session.execute(
                    select(Message.body).where(Message.id == row.message_id)
                ).scalar_one_or_none() or ""
    claim.started = time.monotonic()
    return claim


def _deliver(rt: Runtime, claim: Claim, provider: SmsProvider,
             integration: IntegrationSender | None, now: datetime | None) -> None:
    if time.monotonic() - claim.started > lease(rt).total_seconds() / 2:
        # So late that another worker may soon reclaim it; sending now could race its check.
        log.warning("claim too old to send safely; left to the lease",
                    extra=log_fields(outbox=claim.id))
        return
    sent: Sent | None = None
    adopted = False
    try:
        if claim.kind == SMS:
            sent, adopted = _send_sms(rt, claim, provider)
        elif claim.kind == INTEGRATION and integration is not None:
            integration.deliver(claim.id, claim.payload)
        else:
            raise SendError(f"unknown outbox kind {claim.kind!r}", transient=False)
    except Exception as exc:
        _finish_failed(rt, claim, classify(exc), now or utcnow())
        return
    _finish_done(rt, claim, sent, adopted, now or utcnow())


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


def _owned(session: Session, claim: Claim) -> Outbox | None:
    """The row, locked, if this claim still holds it (attempts is the fencing token)."""
    stmt = select(Outbox).where(Outbox.id == claim.id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(key_share=True)
    row = session.execute(stmt).scalar_one_or_none()
    if row is None or row.state != "sending" or row.attempts != claim.attempts:
        log.error("outbox lease lost before the result was stored",
                  extra=log_fields(outbox=claim.id, attempts=claim.attempts,
                                   now_state=row.state if row else None))
        return None
    return row


def _finish_done(rt: Runtime, claim: Claim, sent: Sent | None, adopted: bool,
                 now: datetime) -> None:
    status = None
    with unit_of_work(rt.sessions) as session:
        row = _owned(session, claim)
        if row is None:
            return
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
        else:
            record(session, "system", "integration.delivered", case_id=claim.case_id, at=now,
                   data={"delivery": claim.id, "attempts": claim.attempts})
    log.info("outbox delivered", extra=log_fields(outbox=claim.id, kind=claim.kind,
                                                  attempts=claim.attempts, adopted=adopted,
                                                  to=mask_phone(claim.to)))
    if claim.kind == SMS:
        rt.events.publish("message.status", claim.case_id, message_id=claim.message_id,
                          status=status)


def _raise_status(msg: Message, new: str, now: datetime) -> str:
    """Move the message's status forward only: a late 'sent' never undoes 'delivered'."""
    if STATUS_RANK.get(new, 0) > STATUS_RANK.get(msg.status, 0):
        msg.status, msg.status_at = new, now
    return msg.status


def _finish_failed(rt: Runtime, claim: Claim, err: SendError, now: datetime) -> None:
    with unit_of_work(rt.sessions) as session:
        row = _owned(session, claim)
        if row is None:
            return
        row.last_error = err.reason[:500]
        if err.maybe_sent and claim.kind == SMS:
            payload = dict(row.payload or {})
            payload.setdefault("check_since", claim.claimed_at.isoformat())
            row.payload = payload
        if err.transient and row.attempts < MAX_ATTEMPTS:
            row.state, row.next_attempt_at = "pending", now + backoff(row.attempts)
            log.warning("outbox attempt failed; will retry",
                        extra=log_fields(outbox=claim.id, kind=claim.kind, attempts=row.attempts,
                                         reason=err.reason, retry_at=row.next_attempt_at))
            return
        reason = err.reason if not err.transient else (
            f"gave up after {row.attempts} attempts: {err.reason}")
        row.state, row.done_at = "failed", now
        if claim.kind == SMS:
            _fail_message(session, claim, err, reason[:200], now)
        else:
            record(session, "system", "integration.failed", case_id=claim.case_id, at=now,
                   data={"delivery": claim.id, "attempts": claim.attempts, "reason": reason})
    log.error("outbox delivery failed", extra=log_fields(outbox=claim.id, kind=claim.kind,
                                                         attempts=claim.attempts, reason=reason))
    if claim.kind == SMS:
        rt.events.publish("message.status", claim.case_id, message_id=claim.message_id,
                          status="failed")


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


class OutboxWorker:
    """A daemon thread draining the outbox: polls every POLL_SECONDS, sooner when notified."""

    def __init__(self, rt: Runtime, *, provider: SmsProvider | None = None,
                 integration: IntegrationSender | None = None, batch: int = 1,
                 poll: float = POLL_SECONDS, name: str = "outbox-worker") -> None:
        # One row a look, then on_work(): the next sender is woken as soon as this one has
        # found work, not after it has sent a whole batch.
        self.rt = rt
        self.name = name
        self.on_work: Any = None  # called when a look found work: another sender may help
        self.provider = provider or provider_for(rt.settings)
        self.integration = integration
        self.batch, self.poll = batch, poll
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Something was enqueued and committed: drain now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self.integration is not None:
            self.integration.close()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if self.integration is None and self.rt.settings.integration_url:
                    self.integration = IntegrationSender(self.rt.settings)
                handled = drain_once(self.rt, batch=self.batch, provider=self.provider,
                                     integration=self.integration, stop=self._stop)
                failures = 0
                if handled and self.on_work is not None:
                    self.on_work()
            except Exception:
                # The database is away, most likely: rows stay claimed or pending, and come back.
                failures += 1
                handled = 0
                log.exception("outbox drain failed", extra=log_fields(failures=failures))
            if handled >= self.batch:
                continue
            woken = self._wake.wait(
                self.poll if failures == 0 else min(30.0, self.poll * 2 ** failures))
            if woken and handled == 0:
                # Every text read and every case change wakes the worker, and many queue
                # nothing: under load, gather the wake-ups into at most one empty look per
                # WAKE_GAP instead of one per change (bench/README.md).
                self._stop.wait(WAKE_GAP)
