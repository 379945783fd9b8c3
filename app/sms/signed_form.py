"""Twilio's signed webhooks: the paths Twilio calls, and reading their form once checked.

Both webhooks (inbound texts, app/inbox/webhook.py; delivery status, app/sms/status_router.py)
read their form here, from the raw ASGI scope.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope

from app.kit.errors import BadRequest, Forbidden, TooLarge
from app.kit.logs import log_fields
from app.kit.runtime import Runtime
from app.sms.signature import public_request_url, signature_valid

log = logging.getLogger("textline.sms")

INBOUND_PATH = "/webhooks/twilio/sms"
FORM_TYPE = "application/x-www-form-urlencoded"


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name, the first of each kept (as Starlette's)."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        found.setdefault(name, value)
    return found


async def read_signed_form(scope: Scope, receive: Receive, rt: Runtime) -> dict[str, str]:
    """The webhook's form fields, after the size cap, the parse and the signature check.

    From the ASGI scope and receive channel themselves, not a Request: under a burst this is
    most of what the server does, and Starlette's header, URL and stream objects cost a fifth
    of it (bench/README.md).
    """
    headers = _headers(scope)
    ctype = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
    if ctype != FORM_TYPE:
        raise BadRequest(f"expected {FORM_TYPE}")
    cap = rt.settings.max_body_bytes
    declared = headers.get(b"content-length")
    if declared is not None and (not declared.isdigit() or len(declared) > 18
                                 or int(declared) > cap):
        raise TooLarge(f"body larger than {cap} bytes")
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away mid-body
            raise BadRequest("request body incomplete")
        body += message.get("body", b"")
        if len(body) > cap:
            raise TooLarge(f"body larger than {cap} bytes")
        if not message.get("more_body", False):
            break
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
        path = scope["path"]
        url = public_request_url(rt.settings.public_url, path,
                                 scope["query_string"].decode("latin-1"))
        signature = headers.get(b"x-twilio-signature")
        if not signature_valid(token.get_secret_value(), url, params,
                               None if signature is None else signature.decode("latin-1")):
            log.warning("webhook signature rejected", extra=log_fields(path=path))
            raise Forbidden("invalid Twilio signature")
    return params
