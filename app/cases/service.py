"""Cases: find or open the reporter's case, store each message, run the intake on it.

Services flush and never commit: the caller's unit of work commits everything one inbound text
caused (message, conversation state, decision, outbound rows, audit events) at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import JSON, bindparam, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from app.audit.service import record
from app.kit.db import insert_ignoring_conflict
from app.kit.runtime import mark_queued
from app.models import Case, Message, Outbox, Reporter
from app.sms.outbox import queued, sms_row


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
    message_id: int
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


# Built once (every new texter's first text asks both): the texter's open case, and their case
# closed most recently within the time to reopen one.
_OPEN_CASE = select(Case).where(Case.open_reporter_id == bindparam("reporter"))
_RECENT_CASE = (select(Case).where(Case.reporter_id == bindparam("reporter"),
                                   Case.status == "closed", Case.closed_at >= bindparam("since"))
                .order_by(Case.closed_at.desc()).limit(1))


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
        else session.execute(_OPEN_CASE, {"reporter": reporter.id}).scalar_one_or_none()
    if case is not None:
        return case, False, False
    recent = session.execute(_RECENT_CASE, {"reporter": reporter.id,
                                            "since": now - reopen_within}).scalar_one_or_none()
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


@dataclass
class Incoming:
    """The text being read, as the conversation hears it (its words) and leaves it (the
    language it found); its row is written with the replies' by store_text."""

    body: str
    language: str | None = None


def received(session: Session, case: Case, msg: InboundText, now: datetime) -> list[int]:
    """The case's side of an inbound text, and its audit event; the message's id goes into
    the list returned once store_text has written it (the event is chained at commit)."""
    case.last_inbound_at = now
    case.updated_at = now
    ids: list[int] = []
    sid, chars = msg.sid, len(msg.body)
    record(session, "reporter", "message.received", case_id=case.id,
           data=lambda: {"message_id": ids[0], "sid": sid, "chars": chars})
    return ids


# A text's messages (the inbound one and the bot's replies to it) in one INSERT, numbered in
# that order. Its media is JSON "null" for an inbound text without any (as the ORM stored it)
# and SQL NULL for a reply, which has no media.
_MESSAGES = Message.__table__
_MEDIA = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
_INSERT_MESSAGES = (insert(_MESSAGES).values(media=bindparam("media", type_=_MEDIA))
                    .returning(_MESSAGES.c.id, sort_by_parameter_order=True))
_INSERT_OUTBOX = insert(Outbox.__table__)


def store_text(session: Session, case: Case, reporter: Reporter, msg: InboundText,
               language: str | None, replies: list[str], now: datetime) -> list[int]:
    """The inbound message and the bot's replies, each queued in the outbox: one INSERT of the
    messages, one of the outbox rows. The messages' ids, the inbound one first.

    The caller has found the MessageSid not stored, under the texter's lock: an INSERT that
    fails after all fails the caller's SAVEPOINT, and the text is read again later."""
    rows = [{"case_id": case.id, "direction": "inbound", "author": "reporter", "body": msg.body,
             "provider_sid": msg.sid, "status": "received", "error": None, "segments": None,
             "encoding": None, "media": msg.media or JSON.NULL, "language": language,
             "created_at": now, "status_at": None}]
    rows += [_bot_row(case, body, now) for body in replies]
    ids = list(session.execute(_INSERT_MESSAGES, rows).scalars())
    # The first answer carries the text it answers, for textline_answer_seconds and the trace's
    # last step when the provider accepts it (app/sms/worker.py).
    _queue(session, case, reporter, ids[1:], now, answers={"sid": msg.sid, "at": now.isoformat()})
    return ids


def add_bot_reply(session: Session, case: Case, reporter: Reporter, body: str,
                  now: datetime) -> int:
    """A bot text answering no inbound text (the advice after a person's 999 decision), through
    the outbox: sent by the REST API and tracked to delivery. Its message's id."""
    ids = list(session.execute(_INSERT_MESSAGES, [_bot_row(case, body, now)]).scalars())
    _queue(session, case, reporter, ids, now, answers=None)
    return ids[0]


def _bot_row(case: Case, body: str, now: datetime) -> dict[str, Any]:
    return {"case_id": case.id, "direction": "outbound", "author": "bot", "body": body,
            "provider_sid": None, **queued(body), "media": None, "language": None,
            "created_at": now, "status_at": None}


def _queue(session: Session, case: Case, reporter: Reporter, ids: list[int], now: datetime,
           answers: dict[str, str] | None) -> None:
    """The bot's texts (their messages written, already queued): their outbox rows, in one
    INSERT; `answers` goes with the first."""
    if not ids:
        return
    session.execute(_INSERT_OUTBOX, [
        {**sms_row(case.id, reporter.phone, now, None if i else answers), "message_id": id_,
         "claimed_at": None, "last_error": None, "done_at": None}
        for i, id_ in enumerate(ids)])
    mark_queued(session)
    if case.first_bot_reply_at is None:
        case.first_bot_reply_at = now
    for id_ in ids:
        record(session, "bot", "message.queued", case_id=case.id, data={"message_id": id_})
