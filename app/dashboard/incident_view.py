"""The incident page: its reports side by side, one timeline, the facts gathered across them
with the words they came from, a reply to one reporter or all; and the forms to link, split
and override. The forms call the same services as the JSON API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from app.audit.reads import ReadAudit
from app.auth.web import PageUser, check_csrf, page_user
from app.cases.incident_reply import ALL, recipients, reply_to_incident
from app.dashboard.case_view import author_kind
from app.dashboard.render import pages
from app.incidents import actions
from app.incidents.queries import get_incident, timeline
from app.kit.db import utcnow
from app.kit.errors import AppError, NotFound
from app.kit.runtime import Runtime
from app.models import Case

router = APIRouter(include_in_schema=False)
Operator = Depends(page_user("operator"))
IncidentId = PathParam(ge=1, le=2**31 - 1)
DONE = {"reply": "Text queued for sending.", "link": "Linked.", "unlink": "Case split off.",
        "decision": "Incident decision overridden."}


def _form_id(value: str) -> int | None:
    value = value.strip()
    # Length first: int() refuses a string of thousands of digits with an error of its own.
    return int(value) if value.isdigit() and len(value) <= 10 and 0 < int(value) < 2**31 else None


def gathered(cases: list[Case]) -> list[dict[str, str]]:
    """Every fact of every report, each with the words it came from and whose they were."""
    out = []
    for case in cases:
        facts, ref = case.facts or {}, case.reference or f"#{case.id}"
        loc = facts.get("location")
        if loc:
            where = (loc.get("train") or (loc.get("station") or {}).get("name")
                     or "no place matched")
            if loc.get("coach"):
                where += f", coach {loc['coach']}"
            if loc.get("platform"):
                where += f", platform {loc['platform']}"
            out.append({"kind": "where", "value": where, "words": loc.get("text", ""), "case": ref})
        if facts.get("age"):
            age = facts["age"]
            lo, hi = age.get("min"), age.get("max")
            value = f"{lo if lo is not None else '?'}-{hi if hi is not None else '?'}"
            out.append({"kind": "age", "value": value, "words": age.get("text", ""), "case": ref})
        for risk in facts.get("risks") or ():
            out.append({"kind": "what", "value": risk["indicator"].replace("_", " "),
                        "words": risk["evidence"], "case": ref})
        if facts.get("immediacy"):
            imm = facts["immediacy"]
            out.append({"kind": "when", "value": imm["value"], "words": imm.get("text", ""),
                        "case": ref})
    return out


def _context(request: Request, incident_id: int) -> dict[str, Any]:
    with request.app.state.sessions() as session:
        incident = get_incident(session, incident_id)
        cases = [session.get(Case, c.id) for c in incident.cases or []]
        refs = {c.id: c.reference for c in incident.cases or []}
        return {"incident": incident, "facts": gathered(cases),  # type: ignore[arg-type]
                "timeline": timeline(session, list(refs)), "refs": refs,
                "recipients": recipients(session, incident_id), "author_kind": author_kind}


def render_incident(request: Request, user: PageUser, incident_id: int, *, status: int = 200,
                    error: str | None = None, form: str | None = None) -> Response:
    try:
        ctx = _context(request, incident_id)
    except NotFound:
        return pages(request).render("error.html", 404, user=user, title="No such incident",
                                     message=f"There is no incident {incident_id}.")
    rt: Runtime = request.app.state.runtime
    done = None if error else DONE.get(request.query_params.get("done", ""))
    response = pages(request).render("incident.html", status, user=user, error=error,
                                     error_form=form, done=done,
                                     refresh_seconds=rt.settings.dashboard_refresh_seconds, **ctx)
    _viewed(request, user, ctx, "incident")
    return response


def _viewed(request: Request, user: PageUser, ctx: dict[str, Any], via: str) -> None:
    """The timeline is every report's transcript: each is a read, as on its own case page."""
    for case_id in ctx["refs"]:
        ReadAudit.of(request).case_viewed(user.principal.username, case_id, via=via)


@router.get("/incidents/{incident_id}")
def incident_page(request: Request, incident_id: int = IncidentId,
                  user: PageUser = Operator) -> Response:
    return render_incident(request, user, incident_id)


@router.get("/incidents/{incident_id}/live")
def incident_fragment(request: Request, incident_id: int = IncidentId,
                      user: PageUser = Operator) -> Response:
    ctx = _context(request, incident_id)
    response = pages(request).render("_incident_live.html", user=user, **ctx)
    _viewed(request, user, ctx, "live")
    return response


def _act(request: Request, user: PageUser, incident_id: int | None, csrf_token: str, form: str,
         work: Any) -> Response:
    check_csrf(request, user, csrf_token)
    rt: Runtime = request.app.state.runtime
    try:
        with rt.work() as session:
            incident_id = work(session, rt) or incident_id
    except AppError as exc:
        if incident_id is None:
            return pages(request).render("error.html", exc.status_code, user=user,
                                         title="Not linked", message=exc.message)
        return render_incident(request, user, incident_id, status=exc.status_code,
                               error=exc.message, form=form)
    return RedirectResponse(f"/incidents/{incident_id}?done={form}#{form}", status_code=303)


@router.post("/incidents/link")
def link_form(request: Request, case_id: str = Form(""), to_case_id: str = Form(""),
              incident_id: str = Form(""), to_incident_id: str = Form(""),
              reason: str = Form(""), csrf_token: str = Form(""),
              user: PageUser = Operator) -> Response:
    def work(session: Any, rt: Runtime) -> int:
        return actions.link(session, rt.settings, user.principal, reason=reason, now=utcnow(),
                            case_id=_form_id(case_id), incident_id=_form_id(incident_id),
                            to_case_id=_form_id(to_case_id),
                            to_incident_id=_form_id(to_incident_id)).id
    return _act(request, user, None, csrf_token, "link", work)


@router.post("/incidents/{incident_id}/unlink")
def unlink_form(request: Request, incident_id: int = IncidentId, case_id: str = Form(""),
                reason: str = Form(""), csrf_token: str = Form(""),
                user: PageUser = Operator) -> Response:
    def work(session: Any, rt: Runtime) -> None:
        actions.unlink(session, rt.settings, user.principal, incident_id,
                       _form_id(case_id) or 0, reason, now=utcnow())
    return _act(request, user, incident_id, csrf_token, "unlink", work)


@router.post("/incidents/{incident_id}/decision")
def decision_form(request: Request, incident_id: int = IncidentId, decision: str = Form(""),
                  queue: str = Form(""), priority: str = Form(""), reason: str = Form(""),
                  csrf_token: str = Form(""), user: PageUser = Operator) -> Response:
    def work(session: Any, rt: Runtime) -> None:
        actions.override(session, rt.settings, user.principal, incident_id, decision, queue,
                         reason, priority=priority or None, now=utcnow())
    return _act(request, user, incident_id, csrf_token, "decision", work)


@router.post("/incidents/{incident_id}/reply")
def reply_form(request: Request, incident_id: int = IncidentId, body: str = Form(""),
               to: str = Form(ALL), csrf_token: str = Form(""),
               user: PageUser = Operator) -> Response:
    def work(session: Any, rt: Runtime) -> None:
        reply_to_incident(session, rt, incident_id, user.principal, body, to.strip()[:12],
                          now=utcnow())
    return _act(request, user, incident_id, csrf_token, "reply", work)
