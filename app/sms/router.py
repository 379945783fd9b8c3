"""Twilio's webhooks: inbound texts and delivery status callbacks."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from app.cases.service import Inbound
from app.db import utcnow
from app.errors import BadRequest, Forbidden
from app.logs import log_fields, mask_phone
from app.runtime import Runtime
from app.sms.inbox import InboxUnavailable
from app.sms.phone import normalise_phone
from app.sms.signature import public_request_url, signature_valid
from app.sms.twiml import messaging_response

log = logging.getLogger("textline.sms")
router = APIRouter(tags=["webhooks"])

INBOUND_PATH = "/webhooks/twilio/sms"
MAX_MEDIA = 10
FORM_TYPE = "application/x-www-form-urlencoded"
EMPTY_TWIML = messaging_response([])


async def read_signed_form(request: Request, rt: Runtime) -> dict[str, str]:
    """The webhook's form fields, after the size cap, the parse and the signature check."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != FORM_TYPE:
        raise BadRequest(f"expected {FORM_TYPE}")
    cap = rt.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > cap):
        raise BadRequest(f"body larger than {cap} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise BadRequest(f"body larger than {cap} bytes")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                          max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("malformed form body") from None
    params = dict(pairs)
    if any("\x00" in k or "\x00" in v for k, v in pairs):
        raise BadRequest("malformed form body")
    token = rt.settings.twilio_auth_token
    if token is not None:
        url = public_request_url(rt.settings.public_url, request.url.path, request.url.query)
        if not signature_valid(token.get_secret_value(), url, params,
                               request.headers.get("x-twilio-signature")):
            log.warning("webhook signature rejected", extra=log_fields(path=request.url.path))
            raise Forbidden("invalid Twilio signature")
    return params


def parse_inbound(params: dict[str, str]) -> Inbound:
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if not sid or len(sid) > 64 or not sid.isalnum():
        raise BadRequest("MessageSid missing or malformed")
    phone = normalise_phone(params.get("From", ""))
    if phone is None:
        raise BadRequest("From missing or not a phone number")
    body = params.get("Body", "")
    if len(body) > 1600:
        raise BadRequest("Body longer than 1600 characters")
    try:
        num_media = min(int(params.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        raise BadRequest("NumMedia is not a number") from None
    media = [params[f"MediaUrl{i}"] for i in range(num_media) if params.get(f"MediaUrl{i}")]
    return Inbound(sid=sid, phone=phone, to=params.get("To", ""), body=body, media=media)


@router.post(INBOUND_PATH, summary="Twilio inbound message webhook",
             response_class=Response,
             responses={200: {"content": {"text/xml": {}}, "description": "TwiML"},
                        503: {"description": "the text could not be stored; Twilio may retry"}})
async def inbound_sms(request: Request) -> Response:
    """Store the text durably and answer: the replies follow by the REST API (docs/scaling.md).

    Reading the text takes milliseconds of conversation and dispatch; acknowledging it takes
    one shared commit. Under a burst, Twilio hears 200 at once and no text waits on another's
    reading; app/cases/processor.py reads each one, in order, straight after.
    """
    rt: Runtime = request.app.state.runtime
    params = await read_signed_form(request, rt)
    msg = parse_inbound(params)
    try:
        await rt.inbox.accept(msg, utcnow())
    except InboxUnavailable:
        return Response(EMPTY_TWIML, status_code=503, media_type="text/xml",
                        headers={"Retry-After": "5"})
    # Committed: only now may Twilio hear 200. (The processor logs each text at INFO as it reads it.)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("inbound stored", extra=log_fields(sid=msg.sid, phone=mask_phone(msg.phone)))
    return Response(EMPTY_TWIML, media_type="text/xml")
