"""Inbound texts straight to their endpoint, past FastAPI's router.

Under a burst the webhook is nearly all the server does, and FastAPI's routing and per-route
machinery (matching through every included router, the exit stack, dependency solving, the
exception wrappers) cost as much CPU as the webhook's own work: 80 of 155 µs a text
(bench/README.md, "Session 3"). This middleware hands POST /webhooks/twilio/sms to the same
work as the endpoint (`accept_inbound`, on the raw ASGI scope) and sends the same answer,
built once; everything else, and every other method on that path, goes through the router as
before. The route stays declared there, so the OpenAPI schema, the docs and schemathesis see it
unchanged; tests/sms/test_fast_path.py holds the two paths to the same answers.

It sits inside the request-id and metrics middlewares, so the webhook keeps its request id,
security headers and latency histogram; an unexpected exception still reaches Starlette's
server-error middleware, as from a route.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.kit.errors import AppError, error_response
from app.sms.router import EMPTY_TWIML, INBOUND_PATH, RETRY_AFTER, accept_inbound

_BODY = EMPTY_TWIML.encode()
# What Starlette's Response(EMPTY_TWIML, media_type="text/xml", headers=...) sends, built once.
_HEADERS = {status: [(b"content-length", str(len(_BODY)).encode()),
                     (b"content-type", b"text/xml; charset=utf-8"),
                     *((k.lower().encode(), v.encode()) for k, v in RETRY_AFTER.get(status, {}).items())]
            for status in (200, 503)}


class InboundFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != INBOUND_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            status = await accept_inbound(scope, receive, scope["app"].state.runtime)
        except AppError as exc:
            await error_response(exc)(scope, receive, send)
            return
        # A new message each time: the middlewares outside replace its headers.
        await send({"type": "http.response.start", "status": status,
                    "headers": _HEADERS[status]})
        await send({"type": "http.response.body", "body": _BODY})
