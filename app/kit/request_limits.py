"""A cap on every request body, enforced as the bytes arrive, before any route reads them.

FastAPI reads a route's whole body before it resolves the route's dependencies, sign-in among
them, so without a cap a stranger's 300 MB answered 401 only once it sat in memory. A declared
Content-Length over the cap is refused without reading a byte; a body without one (chunked) is
counted as it arrives and refused as soon as it passes the cap. Either way the answer is 413 with
`Connection: close`, so that the server stops reading the rest rather than draining it.

The Twilio webhooks are left out, for what they answer rather than for speed: docs/API.md
(section 3) gives them their own contract, a smaller cap (TEXTLINE_MAX_BODY_BYTES) and 400 for
any body they cannot take, oversize or holding NUL, which their routes check themselves
(read_signed_form in app/sms/signed_form.py). A 413 or a 422 from here would break that contract.
"""

from __future__ import annotations

import sys

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The Twilio webhooks (app/sms/signed_form.py's INBOUND_PATH, app/sms/providers.py's STATUS_PATH),
# written out here because the kit imports no domain; tests/test_import_graph.py checks they match.
EXEMPT_PATHS = frozenset({"/webhooks/twilio/sms", "/webhooks/twilio/status"})


def form_limits(max_bytes: int) -> dict[str, int]:
    """Limits for FastAPI's form parsing (Starlette's form parser): the dashboard's forms have a
    handful of fields and no files. A field may be as large as the body cap and no larger, so
    that a body too large is always the cap's 413, chunked or not, never the parser's 400."""
    return {"max_fields": 50, "max_files": 0, "max_part_size": max_bytes}


class BodyTooLarge(HTTPException):
    """Raised from receive() when the body passes the cap. An HTTPException, so that FastAPI's
    body reading passes it on as it is instead of calling it a parse error (400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_detail(limit), headers={"Connection": "close"})


def too_large_detail(limit: int) -> str:
    return f"request body larger than {limit} bytes"


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not value.isdigit():
                return None  # the server refuses a bad one
            # Past 18 digits it is past any cap (and int() refuses thousands of digits).
            return int(value) if len(value) <= 18 else sys.maxsize
    return None


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if started:  # a route that answered before it read everything: nothing to add
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"detail": too_large_detail(self.max_bytes)}, status_code=413,
                                headers={"Connection": "close"})
        await response(scope, receive, send)
