"""How many live event streams each user holds open in this process, and the cap on them.

Every open stream wakes for every event; a thousand on one session once cost the webhook seconds.
A person needs a stream per dashboard tab, so a few: past TEXTLINE_MAX_STREAMS_PER_USER the next
is refused (429) until one closes. The count is per server process (each of `--workers` keeps
its own): what it guards is this process's event loop.
"""

from __future__ import annotations

import threading

from fastapi.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send


class StreamLimit:
    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, username: str) -> bool:
        with self._lock:
            held = self._open.get(username, 0)
            if held >= self.per_user:
                return False
            self._open[username] = held + 1
            return True

    def release(self, username: str) -> None:
        with self._lock:
            held = self._open.get(username, 0) - 1
            if held > 0:
                self._open[username] = held
            else:
                self._open.pop(username, None)

    def held(self, username: str) -> int:
        with self._lock:
            return self._open.get(username, 0)

    def refusal(self) -> Response:
        return Response(f"too many live streams open: at most {self.per_user} per user; close "
                        "another dashboard tab or window\n", status_code=429,
                        media_type="text/plain")


class HeldStream(StreamingResponse):
    """A stream that takes one of its user's places when it starts and gives it back however
    it ends (finished, signed out, or the browser gone). Taken here rather than in the route,
    so that no path between the two can keep a place that no stream holds."""

    def __init__(self, content: object, limit: StreamLimit, username: str,
                 **kwargs: object) -> None:
        super().__init__(content, **kwargs)  # type: ignore[arg-type]
        self.limit = limit
        self.username = username

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.limit.acquire(self.username):
            await self.limit.refusal()(scope, receive, send)  # the stream itself never starts
            return
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.limit.release(self.username)
