"""/wallboard: the control room's wall screen. Read-only, large type, no personal data: how
many cases wait by priority, the longest wait, and today's answer times (the supervisor's
figures, app/supervisor/figures.py).

Any signed-in user may see it (operator and up), not the public: the figures name nobody, but
a control room's load is operational information, and the screen on the wall is a browser
signed in like any other. It needs no supervisor, so the wall's account can be an operator's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.web import PageUser, page_user
from app.dashboard.queue import waiting_since_column
from app.kit.db import utcnow
from app.models import Case
from app.supervisor.figures import Spread, collect
from app.supervisor.router import _pages

router = APIRouter(include_in_schema=False)
SignedIn = Depends(page_user("operator"))
PRIORITIES = ("P1", "P2", "P3")


@dataclass(frozen=True)
class Wall:
    waiting: dict[str, int]  # P1, P2, P3 and "-" (not yet decided)
    unclaimed_p1: int
    oldest_seconds: float | None
    human: Spread  # today's first human replies
    bot: Spread
    at: datetime


def wall_figures(session: Session, tz: object, now: datetime) -> Wall:
    waiting_since = waiting_since_column().label("waiting_since")
    open_cases = (select(func.coalesce(Case.priority, "-").label("priority"),
                         Case.assigned_to_id, waiting_since)
                  .where(Case.status == "open").subquery())
    waiting = {p: 0 for p in (*PRIORITIES, "-")}
    oldest: datetime | None = None
    for priority, count, first in session.execute(
        select(open_cases.c.priority, func.count(), func.min(open_cases.c.waiting_since))
        .where(open_cases.c.waiting_since.is_not(None)).group_by(open_cases.c.priority)
    ):
        waiting[priority] = count
        if first is not None and (oldest is None or first < oldest):
            oldest = first
    unclaimed_p1 = session.execute(
        select(func.count()).select_from(Case)
        .where(Case.status == "open", Case.priority == "P1", Case.assigned_to_id.is_(None))
    ).scalar_one()
    today = now.astimezone(tz).date()  # type: ignore[arg-type]
    figs = collect(session, today, today, tz, now)
    return Wall(waiting, unclaimed_p1,
                None if oldest is None else max(0.0, (now - oldest).total_seconds()),
                figs.total.human, figs.total.bot, now)


@router.get("/wallboard")
def wallboard(request: Request, user: PageUser = SignedIn) -> Response:
    settings = request.app.state.runtime.settings
    with request.app.state.read_sessions() as session:
        wall = wall_figures(session, settings.tz, utcnow())
    return _pages(request).render("wallboard.html", user=user, wall=wall,
                                  refresh_seconds=min(15, settings.dashboard_refresh_seconds))
