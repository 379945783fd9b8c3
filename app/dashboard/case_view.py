"""One case: the page and its live fragment (each read audited), and the operator's forms.

The forms post here rather than to the JSON API so that the page works from the keyboard and
without script; both paths call the same service functions in app/cases/actions.py.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from app.audit.reads import ReadAudit
from app.auth.web import PageUser, check_csrf, page_user
from app.cases import actions, overrides
from app.cases.outcomes import outcome_texts
from app.cases.queries import get_case
from app.dashboard.incident_panel import incident_context
from app.dashboard.render import HERE, pages
from app.kit.db import utcnow
from app.kit.errors import AppError, NotFound
from app.kit.runtime import Runtime
from app.live.presence import Presence
from app.models import Case

router = APIRouter(include_in_schema=False)
Operator = Depends(page_user("operator"))
CaseId = PathParam(ge=1, le=2**31 - 1)

OUTCOMES = ("Officers attended", "Advice given", "Passed to local force", "Safeguarding referral",
            "No further action", "Duplicate of another case", "Texter stopped replying")
DONE = {"reply": "Text queued for sending.", "claim": "The case is yours.", "note": "Note added.",
        "decision": "Decision overridden.", "close": "Case closed."}
# The outcome texts' labels are among these (app/cases/outcomes.yaml).
DISCREET_PAGE = ("The texter asked not to be texted: a message may put them at risk. "
                 "Tick \"Send anyway\" to confirm.")


@cache
def canned_replies(path: Path = HERE / "canned.yaml") -> list[dict[str, str]]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8")))


def author_kind(author: str) -> str:
    if author in ("reporter", "bot"):
        return author
    return "note" if author.startswith("note:") else "operator"


def _case_context(request: Request, case_id: int) -> dict[str, Any]:
    with request.app.state.sessions() as session:
        case = get_case(session, case_id)
        facts = session.get(Case, case_id).facts or {}  # type: ignore[union-attr]
        incidents = incident_context(session, case_id)
    presence: Presence = request.app.state.presence
    return {"case": case, "facts": facts, "viewers": presence.viewers(case_id), "now": utcnow(),
            "author_kind": author_kind, **incidents}


def render_case(request: Request, user: PageUser, case_id: int, *, status: int = 200,
                error: str | None = None, form: str | None = None,
                draft: dict[str, str] | None = None, revealed: str | None = None) -> Response:
    try:
        ctx = _case_context(request, case_id)
    except NotFound:
        return pages(request).render("error.html", 404, user=user, title="No such case",
                                     message=f"There is no case {case_id}.")
    rt: Runtime = request.app.state.runtime
    done = None if error else DONE.get(request.query_params.get("done", ""))
    response = pages(request).render(
        "case.html", status, user=user, error=error, error_form=form, draft=draft or {},
        done=done, canned=canned_replies(), outcomes=OUTCOMES,
        outcome_texts=[(o.label, o.for_case(ctx["case"].reference)) for o in outcome_texts()],
        queues=overrides.routing_queues(rt), priorities=overrides.DECISION_PRIORITIES,
        refresh_seconds=rt.settings.dashboard_refresh_seconds, revealed=revealed, **ctx)
    # Every page that shows the transcript is a read of it, a form's error page too.
    ReadAudit.of(request).case_viewed(user.principal.username, case_id, via="dashboard")
    return response


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: int = CaseId, user: PageUser = Operator) -> Response:
    return render_case(request, user, case_id)


@router.get("/cases/{case_id}/live")
def case_fragment(request: Request, case_id: int = CaseId, user: PageUser = Operator) -> Response:
    # The transcript again: a read like the page's, folded with it while the page stays open.
    response = pages(request).render("_case_live.html", user=user,
                                     **_case_context(request, case_id))
    ReadAudit.of(request).case_viewed(user.principal.username, case_id, via="live")
    return response


# Forms whose commit may have queued a text (a reply; a 999's advice) or a dispatch call.


def _act(request: Request, user: PageUser, case_id: int, csrf_token: str, form: str,
         draft: dict[str, str], work: Any) -> Response:
    check_csrf(request, user, csrf_token)
    rt: Runtime = request.app.state.runtime
    try:
        with rt.work() as session:
            work(session, rt)
    except AppError as exc:
        message = DISCREET_PAGE if exc.message == actions.DISCREET else exc.message
        return render_case(request, user, case_id, status=exc.status_code, error=message,
                           form=form, draft=draft)
    # No fragment: an anchor would scroll the case's header out of sight (app.js keeps the view).
    return RedirectResponse(f"/cases/{case_id}?done={form}", status_code=303)


@router.post("/cases/{case_id}/reply")
def reply_form(request: Request, case_id: int = CaseId, body: str = Form(""),
               confirm_discreet: bool = Form(False), csrf_token: str = Form(""),
               user: PageUser = Operator) -> Response:
    def work(session: Any, rt: Runtime) -> None:
        actions.reply(session, rt, case_id, user.principal, body,
                      confirm_discreet=confirm_discreet, now=utcnow())
    return _act(request, user, case_id, csrf_token, "reply", {"reply": body}, work)


@router.post("/cases/{case_id}/claim")
def claim_form(request: Request, case_id: int = CaseId, csrf_token: str = Form(""),
               user: PageUser = Operator) -> Response:
    def work(session: Any, rt: Runtime) -> None:
        actions.claim(session, rt, case_id, user.principal, now=utcnow())
    return _act(request, user, case_id, csrf_token, "claim", {}, work)


@router.post("/cases/{case_id}/note")
def note_form(request: Request, case_id: int = CaseId, body: str = Form(""),
              csrf_token: str = Form(""), user: PageUser = Operator) -> Response:
    def work(session: Any, rt: Runtime) -> None:
        actions.add_note(session, case_id, user.principal, body, now=utcnow())
    return _act(request, user, case_id, csrf_token, "note", {"note": body}, work)


@router.post("/cases/{case_id}/decision")
def decision_form(request: Request, case_id: int = CaseId, decision: str = Form(""),
                  queue: str = Form(""), priority: str = Form(""), reason: str = Form(""),
                  csrf_token: str = Form(""), user: PageUser = Operator) -> Response:
    def work(session: Any, rt: Runtime) -> None:
        actions.override_decision(session, rt, case_id, user.principal, decision, queue, reason,
                                  priority=priority, now=utcnow())
    return _act(request, user, case_id, csrf_token, "decision",
                {"decision": decision, "queue": queue, "priority": priority, "reason": reason},
                work)


@router.post("/cases/{case_id}/close")
def close_form(request: Request, case_id: int = CaseId, outcome: str = Form(""),
               notify_reporter: bool = Form(False), text: str = Form(""),
               confirm_discreet: bool = Form(False), csrf_token: str = Form(""),
               user: PageUser = Operator) -> Response:
    def work(session: Any, rt: Runtime) -> None:
        actions.close(session, case_id, user.principal, outcome, now=utcnow(),
                      notify_reporter=notify_reporter, text=text if notify_reporter else None,
                      confirm_discreet=confirm_discreet)
    return _act(request, user, case_id, csrf_token, "close",
                {"outcome": outcome, "text": text, "notify": "yes" if notify_reporter else "no"},
                work)
