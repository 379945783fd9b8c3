"""The JSON API over cases (API.md section 4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from app.audit.service import record
from app.auth.deps import require
from app.auth.service import Principal
from app.cases.openapi_links import FIRST_LISTED, THIS_CASE, act_on_case, links, read_case
from app.cases.queries import CaseFilter, get_case, list_cases
from app.cases.schemas import CaseOut, CasePage
from app.db import unit_of_work
from app.errors import BadRequest
from app.sms.phone import normalise_phone

router = APIRouter(prefix="/api", tags=["cases"])
ERRORS = {401: {"description": "No credentials"}, 403: {"description": "Role not allowed"}}


@router.get("/cases", response_model=CasePage,
            responses={**ERRORS, **links(200, {**read_case(FIRST_LISTED),
                                               **act_on_case(FIRST_LISTED)})})
def cases_index(
    request: Request,
    status: Literal["open", "closed"] | None = None,
    priority: Literal["P1", "P2", "P3"] | None = None,
    decision: Literal["999", "101"] | None = None,
    queue: str | None = Query(None, max_length=32),
    phone: str | None = Query(None, max_length=32),
    since: datetime | None = None,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=200),
    _: Principal = Depends(require("operator")),
) -> CasePage:
    if since is not None and since.tzinfo is None:
        raise BadRequest("since needs a time zone, e.g. 2026-11-28T14:00:00Z")
    if since is not None:
        try:
            since.astimezone(UTC)  # 9999-12-31T23:59:59-23:59 is past the end of time in UTC
        except OverflowError:
            raise BadRequest("since is out of range: give a time that exists in UTC") from None
    wanted_phone = None
    if phone:
        wanted_phone = normalise_phone(phone)
        if wanted_phone is None:
            raise BadRequest("phone is not a phone number")
    f = CaseFilter(status=status, priority=priority, decision=decision, queue=queue,
                   phone=wanted_phone, since=since)
    with request.app.state.read_sessions() as session:
        items, next_cursor = list_cases(session, f, limit, cursor)
    return CasePage(items=items, next_cursor=next_cursor)


@router.get("/cases/{case_id}", response_model=CaseOut,
            responses={**ERRORS, 404: {}, **links(200, act_on_case(THIS_CASE))})
def case_detail(
    request: Request,
    case_id: int = Path(ge=1, le=2**31 - 1),
    principal: Principal = Depends(require("operator")),
) -> CaseOut:
    # Who looked at which case is itself part of the record.
    with unit_of_work(request.app.state.sessions) as session:
        out = get_case(session, case_id)
        record(session, principal.username, "case.viewed", case_id=case_id, data={"via": "api"})
    return out
