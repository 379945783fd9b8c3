"""The queue page and its live fragment."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.auth.web import PageUser, page_user
from app.dashboard.incident_rows import fold
from app.dashboard.queue import (
    NO_QUEUE,
    SORT_STATED,
    STATUSES,
    open_p1,
    queue_names,
    queue_rows,
)
from app.dashboard.render import pages
from app.kit.db import utcnow
from app.live.presence import Presence

router = APIRouter(include_in_schema=False)
Operator = Depends(page_user("operator"))


def _filters(status: str, queue: str) -> tuple[str, str]:
    return (status if status in STATUSES else "open"), queue.strip()[:32]


def _rows_context(request: Request, status: str, queue: str) -> dict[str, object]:
    with request.app.state.sessions() as session:
        rows = fold(session, queue_rows(session, status=status, queue=queue))
        names = queue_names(session)
        p1s = open_p1(session)
    presence: Presence = request.app.state.presence
    return {"rows": rows, "p1s": p1s, "viewers": presence.snapshot(), "now": utcnow(), "status": status,
            "queue": queue, "queues": names, "statuses": STATUSES, "no_queue": NO_QUEUE,
            "sort_stated": SORT_STATED,
            "refresh_seconds": request.app.state.runtime.settings.dashboard_refresh_seconds}


@router.get("/")
def queue_page(request: Request, status: str = Query("open", max_length=32),
               queue: str = Query("", max_length=32), user: PageUser = Operator) -> Response:
    status, queue = _filters(status, queue)
    return pages(request).render("queue.html", user=user, **_rows_context(request, status, queue))


@router.get("/queue/rows")
def queue_fragment(request: Request, status: str = Query("open", max_length=32),
                   queue: str = Query("", max_length=32), user: PageUser = Operator) -> Response:
    status, queue = _filters(status, queue)
    return pages(request).render("_rows.html", user=user, **_rows_context(request, status, queue))
