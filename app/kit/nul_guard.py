"""NUL characters are refused in a request's path, query string and form body, before any route.

PostgreSQL can neither store nor compare text holding NUL (psycopg refuses to send it), while
SQLite takes it: a filter or username with %00 in it was a 500 on one database and an empty
answer on the other. No person types NUL, so it is refused at the edge, with one clear 422 the
same on both. JSON bodies are left to their models (app/kit/validation.py refuses every control
character there). The Twilio webhooks are left alone: their contract (docs/API.md, section 3) is a 400
for any form they cannot take, NUL included, which they check themselves.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit.request_limits import EXEMPT_PATHS

URLENCODED, MULTIPART = b"application/x-www-form-urlencoded", b"multipart/form-data"


def nul_detail(where: str) -> str:
    return f"NUL characters are not allowed in the {where}"


class NulInBody(HTTPException):
    """Raised from receive() when a form holds NUL. An HTTPException, so that FastAPI's body
    reading passes it on as it is instead of calling it a parse error."""

    def __init__(self) -> None:
        super().__init__(422, nul_detail("form"))


def _has_nul(raw: bytes) -> bool:
    """NUL, raw or percent-encoded (a typed "%00" is sent as %2500)."""
    return b"\x00" in raw or b"%00" in raw


def _form_type(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"content-type":
            kind = value.split(b";")[0].strip().lower()
            return kind if kind in (URLENCODED, MULTIPART) else None
    return None


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        where = ("address" if _has_nul(raw_path) else
                 "query string" if _has_nul(scope.get("query_string", b"")) else None)
        if where is not None:
            await _refuse(scope, receive, send, where)
            return
        form = _form_type(scope)
        if form is None:
            await self.app(scope, receive, send)
            return
        # In a multipart body "%00" is three typed characters; only a raw NUL is one.
        found = _has_nul if form == URLENCODED else (lambda raw: b"\x00" in raw)
        tail = b""  # "%00" may be split between two chunks
        started = False

        async def checked_receive() -> Message:
            nonlocal tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = tail + message.get("body", b"")
                if found(chunk):
                    raise NulInBody()
                tail = chunk[-2:]
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, checked_receive, watched_send)
        except NulInBody:
            if started:  # a route that answered before it read everything: nothing to add
                raise
            await _refuse(scope, receive, send, "form")


async def _refuse(scope: Scope, receive: Receive, send: Send, where: str) -> None:
    await JSONResponse({"detail": nul_detail(where)}, status_code=422)(scope, receive, send)
