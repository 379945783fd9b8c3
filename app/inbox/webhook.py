"""Twilio's inbound webhook: each text checked, parsed and handed to the inbox writer.

The route answers 200 only once the text is committed (or spooled: docs/outage.md); the reader
(app/inbox/reader.py) reads it afterwards.
"""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request, Response
from starlette.types import Receive, Scope

from app.inbox.inbound import Inbound
from app.inbox.writer import InboxUnavailable
from app.kit.db import utcnow
from app.kit.errors import AppError, BadRequest, Forbidden, TooLarge
from app.kit.logs import log_fields, mask_phone
from app.kit.metrics import TEXTS_RECEIVED, TEXTS_REFUSED
from app.kit.runtime import Runtime
from app.sms.phone import normalise_phone
from app.sms.signed_form import INBOUND_PATH, read_signed_form
from app.sms.twiml import messaging_response

log = logging.getLogger("textline.sms")
router = APIRouter(tags=["webhooks"])

MAX_MEDIA = 10
EMPTY_TWIML = messaging_response([])


def parse_inbound(params: dict[str, str]) -> Inbound:
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if not sid or len(sid) > 64 or not sid.isalnum():
        raise BadRequest("MessageSid missing or malformed")
    phone = normalise_phone(params.get("From", ""))
    if phone is None:
        raise BadRequest("From missing or not a phone number")
    body = params.get("Body", "")
    if len(body) > 1600:
        raise TooLarge("Body longer than 1600 characters")
    try:
        num_media = min(int(params.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        raise BadRequest("NumMedia is not a number") from None
    media = [params[f"MediaUrl{i}"] for i in range(num_media) if params.get(f"MediaUrl{i}")]
    return Inbound(sid=sid, phone=phone, to=params.get("To", ""), body=body, media=media)


async def accept_inbound(scope: Scope, receive: Receive, rt: Runtime) -> int:
    """Store the text durably: 200 once it is committed (or spooled: docs/outage.md), 503 if it
    could not be; AppError for a request that is not a good signed text."""
    began = time.time_ns()
    try:
        msg = parse_inbound(await read_signed_form(scope, receive, rt))
    except AppError as exc:
        TEXTS_REFUSED.labels(reason=refusal_reason(exc)).inc()
        raise
    try:
        if rt.spool is None:
            await rt.inbox.accept(msg, utcnow())
        else:  # the database is remote: kept on local disk if it cannot take it in time
            await rt.spool.accept(rt.inbox, msg, utcnow())
    except InboxUnavailable:
        return 503
    TEXTS_RECEIVED.inc()
    if rt.tracer is not None:
        rt.tracer.span("webhook", msg.sid, began, time.time_ns(), root=True)
    # Committed: only now may Twilio hear 200. (The processor logs each text at INFO as it reads it.)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("inbound stored", extra=log_fields(sid=msg.sid, phone=mask_phone(msg.phone)))
    return 200


def refusal_reason(exc: AppError) -> str:
    """The textline_texts_refused_total label of a webhook's 4xx."""
    if isinstance(exc, Forbidden):
        return "signature"
    return "oversize" if isinstance(exc, TooLarge) else "malformed"


# Twilio may retry a 503 after a pause; the texter's text is not lost either way.
RETRY_AFTER = {503: {"Retry-After": "5"}}


@router.post(INBOUND_PATH, summary="Twilio inbound message webhook",
             response_class=Response,
             responses={200: {"content": {"text/xml": {}}, "description": "TwiML"},
                        503: {"description": "the text could not be stored; Twilio may retry"}})
async def inbound_sms(request: Request) -> Response:
    """Store the text durably and answer: the replies follow by the REST API (docs/scaling.md).

    Reading the text takes milliseconds of conversation and dispatch; acknowledging it takes
    one shared commit. Under a burst, Twilio hears 200 at once and no text waits on another's
    reading; app/inbox/reader.py reads each one, in order, as it arrives.
    """
    status = await accept_inbound(request.scope, request.receive, request.app.state.runtime)
    return Response(EMPTY_TWIML, status_code=status, media_type="text/xml",
                    headers=RETRY_AFTER.get(status))
