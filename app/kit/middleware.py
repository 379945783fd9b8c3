"""Request ids and security headers, as plain ASGI middleware (no buffering of streams)."""

from __future__ import annotations

import itertools
import re
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit.logs import request_id_var

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# A random prefix per process and a counter: unique across instances without a system call per
# request (uuid4 read the OS's random source each time, 6% of the webhook's time under load).
_PREFIX = secrets.token_hex(4)
_COUNTER = itertools.count(1)

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
]


# Sent only when the public URL is https: a browser that has once reached the dashboard over
# TLS then refuses a plain-http copy of it for a year (a stripped or spoofed link included).
HSTS = (b"strict-transport-security", b"max-age=31536000")


class RequestContext:
    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.headers = SECURITY_HEADERS + [HSTS] if hsts else SECURITY_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _SAFE_ID.match(incoming) else f"{_PREFIX}{next(_COUNTER):08x}"
        token = request_id_var.set(rid)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                present = {k.lower() for k, _ in headers}
                # Every page keeps the one policy, /docs and /redoc too (app/kit/api_docs.py).
                headers.extend([h for h in self.headers if h[0] not in present])
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            request_id_var.reset(token)
