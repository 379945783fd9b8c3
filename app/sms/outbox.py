"""Putting outbound work in the outbox, inside the transaction that decided it.

Nothing is sent here. The row commits (or rolls back) with the event that caused it, so a text
exists in the outbox exactly when the case says it was written; the worker delivers it later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.conversation.gsm import segments
from app.kit.db import utcnow
from app.kit.runtime import mark_queued
from app.models import Message, Outbox

SMS, INTEGRATION = "sms", "integration"


def enqueue_sms(session: Session, message: Message, to_phone: str, *,
                now: datetime | None = None, flush: bool = True,
                answers: dict[str, str] | None = None) -> Outbox:
    """Queue an outbound Message for delivery to to_phone; flushes the message and its outbox
    row unless flush=False (then the caller's next flush writes both), never commits. `answers` names the inbound text ({"sid", "at"}) this is the
    first answer to: its acceptance is that text's answer time (textline_answer_seconds)."""
    if message.direction != "outbound":
        raise ValueError("only outbound messages are texted")
    if not to_phone:
        raise ValueError("no number to text")
    for column, value in queued(message.body).items():
        setattr(message, column, value)
    row = Outbox(**sms_row(message.case_id, to_phone, now or utcnow(), answers))
    if message.id is None:
        # A new message and its outbox row go in one flush, the message first (the
        # relationship orders them and fills message_id), not a flush for the message alone.
        session.add(message)
        row.message = message
    else:
        row.message_id = message.id
    session.add(row)
    if flush:
        session.flush()
    mark_queued(session)
    return row


def queued(body: str) -> dict[str, Any]:
    """The columns of an outbound message once queued: its segments as Twilio will count them."""
    count, encoding = segments(body)
    return {"status": "queued", "segments": count, "encoding": encoding, "error": None}


def sms_row(case_id: int | None, to_phone: str, now: datetime,
            answers: dict[str, str] | None = None) -> dict[str, Any]:
    """The outbox row of a text to to_phone, but for its message_id."""
    payload: dict[str, Any] = {"to": to_phone}
    if answers:
        payload["answers"] = answers
    return {"kind": SMS, "case_id": case_id, "payload": payload, "state": "pending",
            "attempts": 0, "next_attempt_at": now, "created_at": now}


def enqueue_integration(session: Session, case_id: int, payload: dict[str, Any], *,
                        now: datetime | None = None) -> Outbox:
    """Queue one signed POST of payload to the configured integration URL."""
    row = Outbox(kind=INTEGRATION, case_id=case_id, payload=payload, state="pending",
                 attempts=0, next_attempt_at=now or utcnow(), created_at=now or utcnow())
    session.add(row)
    session.flush()
    mark_queued(session)
    return row
