"""GET /events: the live stream (Server-Sent Events) behind the queue and case pages.

Events carry kinds and case ids, never texter content: a page that hears one fetches the
fresh rows or transcript through the normal, escaped, role-checked routes. With ?case=ID the
stream also marks its user as viewing that case for as long as it stays open. One user holds at
most TEXTLINE_MAX_STREAMS_PER_USER streams at once (app/live/stream_limit.py).

Written by hand rather than with sse-starlette, which would replace only the framing (a few
lines of `data:`/`retry:`); everything else here (presence, the session recheck, the per-user
cap, dropping unchanged "case.viewing") would stay. What this does that sse-starlette cannot:
- the keep-alive is timed from the last bytes actually sent; sse-starlette pings on a fixed
  clock from its own task whatever was sent, so it cannot stay silent on a busy stream;
- one task per stream besides Starlette's (the pump); sse-starlette adds a ping task and an
  exit-signal task to every stream and replaces uvicorn's Server.handle_exit when it is
  imported, a process-wide patch (serve's 5 s graceful shutdown already ends open streams).
Neither resumes from Last-Event-ID: events carry no id. A page that reconnects fetches its
rows or transcript afresh (app.js onReconnect), and every page reloads on its own clock
(TEXTLINE_DASHBOARD_REFRESH_SECONDS), which also covers events missed between connections.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.auth.web import active_session
from app.kit.events import Event, Kind
from app.kit.runtime import Runtime
from app.live.presence import Presence
from app.live.stream_limit import HeldStream, StreamLimit

router = APIRouter(include_in_schema=False)

HEARTBEAT_SECONDS = 15.0
# A long-lived stream checks every minute, events flowing or not, that its session still holds
# (not signed out, revoked, expired, its user disabled or no longer an operator): a disabled
# user's open screen goes dark within a minute. It also keeps the session of a screen that shows
# the queue all shift alive.
RECHECK_SECONDS = 60.0
RETRY_MS = 2000


def format_event(event: Event, viewers: list[str] | None = None) -> str:
    """The event as one SSE message. For "case.viewing", pass this instance's merged list:
    the sender, perhaps another instance, can't know who has the case open here."""
    payload = {"kind": event.kind, "case_id": event.case_id, "at": event.at}
    if event.kind == Kind.CASE_VIEWING:
        payload["viewers"] = list(viewers if viewers is not None
                                  else event.data.get("viewers", []))
    elif event.kind == "case.updated":
        payload["action"] = event.data.get("action")
    elif event.kind == Kind.CASE_ALERTED:
        payload["reason"] = event.data.get("reason")
    elif event.kind in (Kind.INCIDENT_UPDATED, Kind.INCIDENT_EMERGENCY):
        payload.update(incident_id=event.data.get("incident_id"),
                       decision=event.data.get("decision"))
    elif event.kind in ("case.opened", "message.new") and "sid" in event.data:
        payload["sid"] = event.data["sid"]  # the text read: an identifier, never its words
    return f"data: {json.dumps(payload)}\n\n"


def _chunk(event: Event, presence: Presence, shown: dict[int, list[str]]) -> str | None:
    """The message for one event, or None for a "case.viewing" that changes nothing this page
    shows: every instance repeats its viewers each heartbeat, and the queue page reloads its
    rows on every event it hears."""
    if event.kind != Kind.CASE_VIEWING or event.case_id is None:
        return format_event(event)
    viewers = presence.viewers(event.case_id)
    if shown.get(event.case_id) == viewers:
        return None
    if viewers:
        shown[event.case_id] = viewers
    else:
        shown.pop(event.case_id, None)  # kept only for cases open now; an empty list may repeat
    return format_event(event, viewers)


def _still_allowed(request: Request) -> bool:
    if hasattr(request.state, "web_session"):
        del request.state.web_session
    found = active_session(request)
    return (found is not None and not found.must_change_password
            and found.principal.has("operator"))


@router.get("/events")
async def events(request: Request, case: int | None = Query(None, ge=1, le=2**31 - 1)
                 ) -> Response:
    found = await run_in_threadpool(active_session, request)
    if found is None or found.must_change_password:
        return Response("sign in first\n", status_code=401, media_type="text/plain")
    if not found.principal.has("operator"):
        return Response("not allowed\n", status_code=403, media_type="text/plain")
    rt: Runtime = request.app.state.runtime
    presence: Presence = request.app.state.presence
    limit: StreamLimit = request.app.state.stream_limit
    username = found.principal.username
    if limit.held(username) >= limit.per_user:  # at once, without building a stream
        return limit.refusal()

    async def stream() -> AsyncIterator[str]:
        inbox: asyncio.Queue[Event] = asyncio.Queue(1000)

        async def pump() -> None:
            async for ev in rt.events.subscribe():
                if inbox.full():
                    inbox.get_nowait()
                inbox.put_nowait(ev)

        pumper = asyncio.create_task(pump())
        conn = None
        try:
            await asyncio.sleep(0)  # let the pump subscribe before anything is announced
            yield f"retry: {RETRY_MS}\n: connected\n\n"
            shown: dict[int, list[str]] = {}  # case -> the viewers this page was last sent
            if case is not None:
                conn = presence.join(case, username)
                # Told to this page here; to the others only if it changes what they show.
                shown[case] = presence.viewers(case)
                yield format_event(Event(Kind.CASE_VIEWING, case), shown[case])
                presence.announce(rt.events, case, if_changed=True)
            loop = asyncio.get_running_loop()
            recheck_at = loop.time() + RECHECK_SECONDS
            # Timed from the last thing sent, not the last event: events skipped as unchanged
            # must not starve the keep-alive a proxy's idle timeout counts on.
            quiet_until = loop.time() + HEARTBEAT_SECONDS
            while True:
                chunk: str | None
                try:
                    event = await asyncio.wait_for(inbox.get(),
                                                   max(0.0, quiet_until - loop.time()))
                    chunk = _chunk(event, presence, shown)
                except TimeoutError:
                    chunk = ": keep-alive\n\n"
                # On the clock, not only when idle: a busy queue never goes quiet for long.
                if loop.time() >= recheck_at:
                    recheck_at = loop.time() + RECHECK_SECONDS
                    if not await run_in_threadpool(_still_allowed, request):
                        return
                if chunk is not None:
                    quiet_until = loop.time() + HEARTBEAT_SECONDS
                    yield chunk
        finally:
            # No await in here: on a disconnect this runs inside a cancelled scope.
            if case is not None and conn is not None:
                presence.leave(case, conn)
                presence.announce(rt.events, case, if_changed=True)
            pumper.cancel()

    return HeldStream(stream(), limit, username, media_type="text/event-stream",
                      headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
