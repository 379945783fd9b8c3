"""Cases: find or open the reporter's case, store each message, run the intake on it.

Services flush and never commit: the caller's unit of work commits everything one inbound text
caused (message, conversation state, decision, outbound rows, audit events) at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.service import record
from app.kit.db import insert_ignoring_conflict
from app.models import Case, Message, Reporter


class InboundText(Protocol):
    """What intake needs of a received text: the inbox's row (app/models.py Inbox) or
    anything with the same fields. A protocol, so that the dependency points one way: the
    inbox's reader imports cases, never the reverse."""

    @property
    def sid(self) -> str: ...
    @property
    def phone(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def media(self) -> list[str] | None: ...


@dataclass
class Received:
    case: Case
    message: Message
    replies: list[str]
    opened: bool = False
    reopened: bool = False


def reference_for(case_id: int, created_local: datetime) -> str:
    return f"TL-{created_local:%y%m%d}-{case_id:04d}"


def lock_reporter(session: Session, phone: str, now: datetime) -> Reporter:
    """Get or create the reporter and lock its row until commit.

    The lock serialises every text from one number, so their conversation steps never
    interleave and two first texts cannot both open a case.
    """
    locked = select(Reporter).where(Reporter.phone == phone).with_for_update(key_share=True)
    # Most texts come from a number already known: look first, insert only when missing
    # (one statement fewer on three texts in four; bench/README.md, "profile").
    reporter = session.execute(locked).scalar_one_or_none()
    if reporter is not None:
        return reporter
    insert_ignoring_conflict(session, Reporter, {"phone": phone, "opted_out": False,
                                                 "created_at": now}, ["phone"])
    return session.execute(locked).scalar_one()


def lock_reporters(session: Session, first_seen: dict[str, datetime]) -> dict[str, Reporter]:
    """lock_reporter for many numbers at once (each with the time its texter was first seen):
    two statements whatever their count, three when some are new.

    The missing rows are inserted before any is locked, then every row is locked in one order
    (by number), so that two processors each locking several texters never wait for each other
    in a circle.
    """
    ordered = sorted(first_seen)
    known = set(session.execute(select(Reporter.phone).where(Reporter.phone.in_(ordered))).scalars())
    missing = [p for p in ordered if p not in known]
    if missing:
        insert_ignoring_conflict(session, Reporter, [
            {"phone": p, "opted_out": False, "created_at": first_seen[p]} for p in missing],
            ["phone"])
    locked = (select(Reporter).where(Reporter.phone.in_(ordered)).order_by(Reporter.phone)
              .with_for_update(key_share=True))
    return {r.phone: r for r in session.execute(locked).scalars()}


def already_received(session: Session, sid: str) -> bool:
    return session.execute(select(Message.id).where(Message.provider_sid == sid)).first() is not None


def received_of(session: Session, sids: list[str]) -> set[str]:
    """Which of these MessageSids are already stored (already_received for many at once)."""
    return set(session.execute(
        select(Message.provider_sid).where(Message.provider_sid.in_(sids))).scalars())


def open_cases_of(session: Session, reporter_ids: list[int]) -> dict[int, Case]:
    """Each of these reporters' open case, for those that have one."""
    return {c.open_reporter_id: c for c in session.execute(  # type: ignore[misc]
        select(Case).where(Case.open_reporter_id.in_(reporter_ids))).scalars()}


def find_or_open_case(session: Session, reporter: Reporter, now: datetime, *,
                      reopen_within: timedelta, tz,  # type: ignore[no-untyped-def]
                      open_case: Case | None = None,
                      only_thanks: Callable[[], bool] | None = None) -> tuple[Case, bool, bool]:
    """The reporter's open case; else one closed recently enough to reopen; else a new one.

    `open_case`: the reporter's open case as the caller has just read it under the reporter's
    lock (open_cases_of), which saves the look; None means look. `only_thanks`: whether the
    text is a plain thank-you, asked only when a case would be reopened; if so the recent case
    is returned still closed (a "thanks" to the outcome text is not a new report).
    """
    case = open_case if open_case is not None and open_case.open_reporter_id == reporter.id \
        else session.execute(select(Case).where(Case.open_reporter_id == reporter.id)
                             ).scalar_one_or_none()
    if case is not None:
        return case, False, False
    recent = session.execute(
        select(Case).where(Case.reporter_id == reporter.id, Case.status == "closed",
                           Case.closed_at >= now - reopen_within)
        .order_by(Case.closed_at.desc()).limit(1)
    ).scalar_one_or_none()
    if recent is not None and only_thanks is not None and only_thanks():
        record(session, "system", "case.kept_closed", case_id=recent.id,
               data={"reason": "thanks"})
        return recent, False, False
    if recent is not None:
        recent.status, recent.open_reporter_id, recent.closed_at = "open", reporter.id, None
        recent.stage = "with_operator" if recent.assigned_to_id else "awaiting_operator"
        recent.updated_at = now
        record(session, "system", "case.reopened", case_id=recent.id)
        return recent, False, True
    case = Case(reporter_id=reporter.id, open_reporter_id=reporter.id, created_at=now,
                updated_at=now, conversation_state={}, facts={})
    session.add(case)
    session.flush()
    case.reference = reference_for(case.id, now.astimezone(tz))
    record(session, "system", "case.opened", case_id=case.id, data={"reference": case.reference})
    return case, True, False


def store_inbound(session: Session, case: Case, msg: InboundText, now: datetime, *,
                  checked: bool = False) -> Message | None:
    """Store the inbound message; None if its MessageSid is already stored (a retry).

    `checked`: the caller has found the MessageSid not stored, under the texter's lock, and
    undoes its own work if the insert fails after all (a SAVEPOINT of its own): no second one,
    and no flush of its own either: the row goes with the caller's next flush, together with
    what the conversation sets on it.
    """
    message = Message(case_id=case.id, direction="inbound", author="reporter", body=msg.body,
                      provider_sid=msg.sid, status="received", media=msg.media or None,
                      created_at=now)
    if checked:
        session.add(message)
    else:
        try:
            with session.begin_nested():
                session.add(message)
                session.flush()
        except IntegrityError:
            return None
    case.last_inbound_at = now
    case.updated_at = now
    sid, chars = msg.sid, len(msg.body)
    record(session, "reporter", "message.received", case_id=case.id,
           data=lambda: {"message_id": message.id, "sid": sid, "chars": chars})
    return message


def add_bot_reply(session: Session, case: Case, reporter: Reporter, body: str,
                  now: datetime, *, answers: dict[str, str] | None = None) -> Message:
    """A bot reply, through the outbox: sent by the REST API and tracked to delivery.
    `answers`: the inbound text this is the first answer to ({"sid", "at"})."""
    from app.sms.outbox import enqueue_sms

    message = Message(case_id=case.id, direction="outbound", author="bot", body=body,
                      status="new", created_at=now)
    # Inserted by enqueue_sms already queued: one INSERT, not an INSERT and an UPDATE. The
    # outbox row goes with the caller's next flush.
    enqueue_sms(session, message, reporter.phone, now=now, flush=False, answers=answers)
    if case.first_bot_reply_at is None:
        case.first_bot_reply_at = now
    record(session, "bot", "message.queued", case_id=case.id,
           data=lambda: {"message_id": message.id})
    return message
