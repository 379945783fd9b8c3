"""The case page's "Reveal number": the texter's full number, shown once, for a stated reason.

The answer to the form is the case page itself with the number in it, never a redirect to a
page that would show it again: a reload shows the masked number, and each reveal is one audited
`case.phone_revealed` event (app/cases/phone.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from app.auth.web import PageUser, check_csrf, page_user
from app.cases.phone import reveal_phone
from app.dashboard.case_view import render_case
from app.kit.db import utcnow
from app.kit.errors import AppError

router = APIRouter(include_in_schema=False)


@router.post("/cases/{case_id}/phone")
def reveal_form(request: Request, case_id: int = PathParam(ge=1, le=2**31 - 1),
                reason: str = Form(""), csrf_token: str = Form(""),
                user: PageUser = Depends(page_user("operator"))) -> Response:
    check_csrf(request, user, csrf_token)
    try:
        with request.app.state.runtime.work() as session:
            phone = reveal_phone(session, case_id, user.principal, reason, via="dashboard",
                                 now=utcnow())
    except AppError as exc:
        return render_case(request, user, case_id, status=exc.status_code, error=exc.message,
                           form="reveal", draft={"reveal": reason})
    return render_case(request, user, case_id, revealed=phone)


@router.get("/cases/{case_id}/phone")
def reveal_again(case_id: int = PathParam(ge=1, le=2**31 - 1)) -> Response:
    """Where a reload or a sign-in's return leads: the case page, whose number is masked."""
    return RedirectResponse(f"/cases/{case_id}#reveal", status_code=303)
