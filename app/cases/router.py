"""The JSON API over cases (API.md section 4): reads, and the texter's number on request.

Each read is audited (app/audit/reads.py): a case's transcript as `case.viewed`, a page of the
list as `cases.listed`, a user's repeats within a few minutes folded into one event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.audit.reads import ReadAudit
from app.auth.deps import require
from app.auth.service import Principal
from app.cases.openapi_links import FIRST_LISTED, THIS_CASE, act_on_case, links, read_case
from app.cases.phone import MAX_REASON, REASON_HELP, reveal_phone
from app.cases.queries import CaseFilter, get_case, list_cases
from app.cases.schemas import CaseOut, CasePage, masked_phone
from app.kit.db import utcnow
from app.kit.errors import BadRequest
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
    principal: Principal = Depends(require("operator")),
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
    # Who went through which part of the list, and how much of it they got. The searched number
    # is kept masked: the log outlives retention. A moving `since` (a client following new
    # activity) folds; another cursor (going deeper into the list) never does.
    filters = {"status": status, "priority": priority, "decision": decision, "queue": queue,
               "phone": masked_phone(wanted_phone) if wanted_phone else None, "since": since}
    ReadAudit.of(request).cases_listed(
        principal.username,
        (status, priority, decision, queue, wanted_phone, limit, cursor),
        {"via": "api", "filters": {k: v for k, v in filters.items() if v is not None},
         "limit": limit, "cursor": cursor, "count": len(items)})
    return CasePage(items=items, next_cursor=next_cursor)


@router.get("/cases/{case_id}", response_model=CaseOut,
            responses={**ERRORS, 404: {}, **links(200, act_on_case(THIS_CASE))})
def case_detail(
    request: Request,
    case_id: int = Path(ge=1, le=2**31 - 1),
    principal: Principal = Depends(require("operator")),
) -> CaseOut:
    with request.app.state.read_sessions() as session:
        out = get_case(session, case_id)
    # Who read which transcript is itself part of the record.
    ReadAudit.of(request).case_viewed(principal.username, case_id, via="api")
    return out


class RevealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=MAX_REASON, description=REASON_HELP)


class PhoneOut(BaseModel):
    case_id: int
    phone: str


@router.post("/cases/{case_id}/phone", response_model=PhoneOut,
             summary="The texter's full number, with an audited reason",
             responses={**ERRORS, 404: {"description": "No such case"},
                        409: {"description": "The number was removed by retention"},
                        422: {"description": "No reason, or one of fewer than three words"}})
def case_phone(
    request: Request,
    response: Response,
    payload: RevealIn,
    case_id: int = Path(ge=1, le=2**31 - 1),
    principal: Principal = Depends(require("operator")),
) -> PhoneOut:
    with request.app.state.runtime.work() as session:
        phone = reveal_phone(session, case_id, principal, payload.reason, via="api",
                             now=utcnow())
    response.headers["Cache-Control"] = "no-store"
    return PhoneOut(case_id=case_id, phone=phone)
