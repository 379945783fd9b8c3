"""Inbound texts straight to their endpoint, past FastAPI's router.

Under a burst the webhook is nearly all the server does, and FastAPI's routing and per-route
machinery (matching through every included router, the exit stack, dependency solving, the
exception wrappers) cost as much CPU as the webhook's own work: 80 of 155 µs a text
(bench/README.md, "profile"). This middleware hands POST /webhooks/twilio/sms to the very same
endpoint function, with the same error answers; everything else, and every other method on that
path, goes through the router as before. The route stays declared there, so the OpenAPI schema,
the docs and schemathesis see it unchanged; tests/sms/test_fast_path.py holds the two paths to
the same answers.

It sits inside the request-id and metrics middlewares, so the webhook keeps its request id,
security headers and latency histogram; an unexpected exception still reaches Starlette's
server-error middleware, as from a route.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import AppError, error_response
from app.sms.router import INBOUND_PATH, inbound_sms


class InboundFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != INBOUND_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            response = await inbound_sms(Request(scope, receive))
        except AppError as exc:
            response = error_response(exc)
        await response(scope, receive, send)
