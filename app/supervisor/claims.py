"""/supervisor/claims: who holds which open case, the alerts still open, and the form that takes
a claim over or hands it on (role supervisor); /supervisor/alerts: the banner every supervisor
page shows while an alert is open."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from app.auth.web import PageUser, check_csrf, page_user
from app.cases import actions
from app.cases.alerts import open_alerts
from app.dashboard.queue import open_alert_reasons
from app.kit.db import utcnow
from app.kit.errors import AppError
from app.models import Case, User
from app.supervisor.router import _pages

router = APIRouter(include_in_schema=False)
Supervisor = Depends(page_user("supervisor"))
CaseId = Path(ge=1, le=2**31 - 1)
SHOWN = 200


def _claims(session: Any) -> list[dict[str, Any]]:
    """Open cases held by someone, or alerted: P1 first, the longest held first."""
    rows = session.execute(
        select(Case.id, Case.reference, Case.priority, Case.stage, User.username,
               Case.assigned_at)
        .outerjoin(User, User.id == Case.assigned_to_id)
        .where(Case.status == "open", Case.assigned_to_id.is_not(None))
        .order_by(Case.priority, Case.assigned_at, Case.id).limit(SHOWN)
    ).all()
    alerted_ids = [case_id for case_id, *_ in open_alerts(session)]
    held = {r.id for r in rows}
    extra = session.execute(
        select(Case.id, Case.reference, Case.priority, Case.stage, User.username,
               Case.assigned_at)
        .outerjoin(User, User.id == Case.assigned_to_id)
        .where(Case.id.in_([i for i in alerted_ids if i not in held]))
        .order_by(Case.id)
    ).all() if alerted_ids else []
    every = [*extra, *rows]
    alerts = open_alert_reasons(session, [r.id for r in every])
    return [{"id": r.id, "reference": r.reference or f"#{r.id}", "priority": r.priority,
             "stage": r.stage, "holder": r.username, "since": r.assigned_at,
             "alerts": alerts.get(r.id, ())} for r in every]


def _people(session: Any) -> list[str]:
    return list(session.execute(
        select(User.username).where(User.active.is_(True)).order_by(User.username)
    ).scalars())


def _render(request: Request, user: PageUser, status: int = 200, error: str | None = None,
            done: str | None = None) -> Response:
    with request.app.state.sessions() as session:
        claims, people = _claims(session), _people(session)
    return _pages(request).render("claims.html", status, user=user, claims=claims,
                                  people=people, error=error, done=done,
                                  max_claims=request.app.state.runtime.settings.max_claims)


@router.get("/supervisor/claims")
def claims_page(request: Request, user: PageUser = Supervisor) -> Response:
    done = "The case has moved." if request.query_params.get("done") == "assign" else None
    return _render(request, user, done=done)


@router.post("/supervisor/cases/{case_id}/assign")
def assign_form(request: Request, case_id: int = CaseId, to: str = Form("", max_length=64),
                reason: str = Form("", max_length=1000), csrf_token: str = Form(""),
                user: PageUser = Supervisor) -> Response:
    check_csrf(request, user, csrf_token)
    rt = request.app.state.runtime
    try:
        with rt.work() as session:
            actions.assign(session, rt, case_id, user.principal, to.strip() or None, reason,
                           now=utcnow())
    except AppError as exc:
        message = exc.message[:1].upper() + exc.message[1:]
        return _render(request, user, exc.status_code, error=message)
    return RedirectResponse("/supervisor/claims?done=assign", status_code=303)


@router.get("/supervisor/alerts")
def alerts_fragment(request: Request, user: PageUser = Supervisor) -> Response:
    with request.app.state.sessions() as session:
        alerts = open_alerts(session)
    return _pages(request).render("_sup_alerts.html", user=user, alerts=alerts)
