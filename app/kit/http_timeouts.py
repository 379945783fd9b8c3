"""uvicorn's HTTP/1.1 protocol (httptools) with deadlines for a client that stops sending.

uvicorn times out only a keep-alive connection idle between requests. A connection that sends
nothing, or part of a request's head and then nothing, it holds for ever: thousands of those
cost a stranger nothing and this server a socket and memory each. Here:

- a request's head (request line and headers) must be complete HEAD_SECONDS after the
  connection opened, or after the request's first byte on a kept-alive connection;
- a request's body must never pause longer than BODY_IDLE_SECONDS (the time the server itself
  stopped reading, to let a route catch up, does not count);
- between requests, uvicorn's own keep-alive timeout (`serve` sets it to KEEP_ALIVE_SECONDS).

Past a deadline the connection is closed; a route waiting for the rest of a body hears the
client go. Nothing limits how long a response may take: a live event stream stays open.
`textline serve` selects this class by its import path (HTTP_PROTOCOL).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_SECONDS = 5.0
BODY_IDLE_SECONDS = 5.0
KEEP_ALIVE_SECONDS = 5
HTTP_PROTOCOL = "app.kit.http_timeouts:TimedHttpToolsProtocol"


class TimedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_seen = 0.0  # the loop's time when the body's last bytes came

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer = self.loop.call_later(HEAD_SECONDS, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head()
        self._cancel_body()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_timer is None:  # a later request on a kept-alive connection
            self._head_timer = self.loop.call_later(HEAD_SECONDS, self._head_late)

    def on_headers_complete(self) -> None:
        self._cancel_head()
        super().on_headers_complete()
        if not self.parser.should_upgrade():  # an upgraded connection is another protocol's
            self._body_seen = self.loop.time()
            self._body_timer = self.loop.call_later(BODY_IDLE_SECONDS, self._body_idle)

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._body_seen = self.loop.time()  # a clock read, not a new timer, for every chunk

    def on_message_complete(self) -> None:
        self._cancel_body()
        super().on_message_complete()

    def _cancel_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _cancel_body(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A request ahead of this one is still being answered: let it finish first.
            self._head_timer = self.loop.call_later(HEAD_SECONDS, self._head_late)
            return
        self.transport.close()

    def _body_idle(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:  # we stopped reading, not the client sending
            self._body_seen = self.loop.time()
        quiet = self.loop.time() - self._body_seen
        if quiet < BODY_IDLE_SECONDS:
            self._body_timer = self.loop.call_later(BODY_IDLE_SECONDS - quiet, self._body_idle)
            return
        self.transport.close()
