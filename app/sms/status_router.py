"""Twilio's delivery status callback: how far each outbound text got.

Callbacks arrive out of order and more than once; a message's status only ever moves forward
(queued < sent < delivered | undelivered | failed). An unknown SID is answered 200 and ignored,
since Twilio would otherwise retry a callback we can do nothing with (it may be for a text
sent before a crash, whose SID the worker has not stored yet). So is an unknown status word,
and an ErrorCode that is no Twilio code (not a number, or absurdly long): the status it came
with is still news worth keeping.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from app.audit.service import record
from app.kit.db import utcnow
from app.kit.errors import BadRequest
from app.kit.events import Kind, stage
from app.kit.logs import log_fields
from app.kit.runtime import Runtime
from app.models import Message
from app.sms.providers import OPTED_OUT, STATUS_RANK, TWILIO_STATUS, describe_error
from app.sms.signed_form import read_signed_form
from app.sms.worker import opt_out_reporter

log = logging.getLogger("textline.sms.status")
router = APIRouter(tags=["webhooks"])


# Twilio's error codes have five digits; six leaves room and keeps the code an ordinary integer.
MAX_CODE_DIGITS = 6


def error_code(raw: str) -> int | None:
    """Twilio's ErrorCode, or None when there is none or it is not one (ignored, not refused)."""
    raw = raw.strip()
    if not raw or len(raw) > MAX_CODE_DIGITS or not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw)


def parse_status(params: dict[str, str]) -> tuple[str, str, int | None]:
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if not sid or len(sid) > 64 or not (sid.isascii() and sid.isalnum()):
        raise BadRequest("MessageSid missing or malformed")
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
    if not status:
        raise BadRequest("MessageStatus missing")
    return sid, status, error_code(params.get("ErrorCode") or "")


def apply_status(session, sid: str, twilio_status: str, code: int | None) -> Message | None:  # type: ignore[no-untyped-def]
    """Move the outbound message forward; None when nothing changed (unknown SID, stale news)."""
    msg = session.execute(
        select(Message).where(Message.provider_sid == sid, Message.direction == "outbound")
        .with_for_update(key_share=True)
    ).scalar_one_or_none()
    new = TWILIO_STATUS.get(twilio_status)
    if msg is None or new is None:
        return None
    if STATUS_RANK[new] <= STATUS_RANK.get(msg.status, 0):
        return None
    now = utcnow()
    msg.status, msg.status_at = new, now
    if code is not None:
        msg.error = describe_error(code)
    if new in ("undelivered", "failed"):
        record(session, "system", "message.undelivered" if new == "undelivered" else "message.failed",
               case_id=msg.case_id, at=now,
               data={"message_id": msg.id, "sid": sid, "code": code, "via": "status callback"})
        if code == OPTED_OUT:
            opt_out_reporter(session, msg.case_id, now, via="delivery refused (21610)")
    return msg


# The form Twilio posts, described for readers and for tests that generate callbacks; the route
# reads the raw body itself (read_signed_form), so nothing here is enforced by FastAPI.
STATUS_FORM: dict[str, Any] = {
    "parameters": [{"name": "X-Twilio-Signature", "in": "header", "required": False,
                    "schema": {"type": "string"},
                    "description": "required whenever TEXTLINE_TWILIO_AUTH_TOKEN is set"}],
    "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
        "schema": {"type": "object", "required": ["MessageSid", "MessageStatus"], "properties": {
            "MessageSid": {"type": "string", "pattern": "^[A-Za-z0-9]{1,64}$"},
            "MessageStatus": {"type": "string", "minLength": 1,
                              "description": "Twilio's word: queued, sent, "
                              "delivered, undelivered, failed...; an unknown one is ignored"},
            "ErrorCode": {"type": "string", "description": "Twilio's error code; anything but "
                          "a number of at most six digits is ignored"},
            "AccountSid": {"type": "string"}},
        # Twilio sends more (To, From, ApiVersion...), all strings; the rest are ignored.
        "additionalProperties": {"type": "string"}}}}},
}


@router.post("/webhooks/twilio/status", summary="Twilio message status callback",
             status_code=200, response_class=Response, openapi_extra=STATUS_FORM,
             responses={400: {"description": "not a status callback (no MessageSid or "
                                             "MessageStatus, or not a form)"},
                        403: {"description": "invalid or missing signature"}})
async def message_status(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    params = await read_signed_form(request.scope, request.receive, rt)
    sid, status, code = parse_status(params)

    def work() -> tuple[int, int, str] | None:
        with rt.work() as session:
            msg = apply_status(session, sid, status, code)
            if msg is None:
                return None
            stage(session, Kind.MESSAGE_STATUS, msg.case_id, message_id=msg.id, status=msg.status)
            return msg.case_id, msg.id, msg.status

    changed = await run_in_threadpool(work)
    raw_code = params.get("ErrorCode") or ""
    log.info("status callback", extra=log_fields(
        sid=sid, status=status[:32], code=code, applied=changed is not None,
        **({"ignored_code": raw_code[:32]} if code is None and raw_code.strip() else {})))
    return Response(status_code=200)
