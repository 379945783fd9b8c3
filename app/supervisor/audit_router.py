"""Supervisor routes over the audit log, and the streamed exports."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app.audit.exports import (
    MEDIA_TYPES,
    ExportFailed,
    ExportRequest,
    begin,
    build_request,
    record_export,
)
from app.audit.service import verify
from app.auth.deps import require
from app.auth.service import Principal
from app.kit.errors import Forbidden

log = logging.getLogger("textline.exports")
router = APIRouter(tags=["audit"])
ERRORS = {401: {"description": "No credentials"}, 403: {"description": "Not a supervisor"}}


class VerifyOut(BaseModel):
    ok: bool
    events: int
    first_bad: int | None


@router.get("/api/audit/verify", response_model=VerifyOut, responses=ERRORS)
def audit_verify(request: Request, _: Principal = Depends(require("supervisor"))) -> VerifyOut:
    with request.app.state.read_sessions() as session:
        result = verify(session)
    return VerifyOut(ok=result.ok, events=result.events, first_bad=result.first_bad)


@router.get(
    "/api/exports/{kind}.{fmt}",
    response_class=StreamingResponse,
    responses={**ERRORS, 400: {"description": "Bad range, or personal data asked without a reason"},
               403: {"description": "Not a supervisor, or personal data asked with the "
                                    "dashboard's cookie instead of a token"},
               503: {"description": "The database could not read the first rows; nothing was "
                                    "exported or recorded"},
               200: {"content": {MEDIA_TYPES["csv"]: {}, MEDIA_TYPES["ndjson"]: {}},
                     "description": "The rows, streamed"}},
)
def export(
    request: Request,
    kind: Literal["cases", "messages", "audit"],
    fmt: Literal["csv", "ndjson"],
    start: str = Query(alias="from", min_length=10, max_length=40,
                       description="first day (YYYY-MM-DD, local) or an ISO date-time"),
    end: str = Query(alias="to", min_length=10, max_length=40,
                     description="last day, included whole, or an ISO date-time (excluded)"),
    include_pii: bool = Query(False, description="unmasked phone numbers; needs a reason"),
    reason: str | None = Query(None, max_length=500, description="why, when include_pii"),
    principal: Principal = Depends(require("supervisor")),
) -> StreamingResponse:
    if principal.via == "session" and (include_pii or (reason or "").strip()):
        # A browser sends its cookie with any link another site makes it follow; a GET cannot
        # carry the CSRF token, so with the cookie only the masked export is served here.
        raise Forbidden(SESSION_PII)
    rt = request.app.state.runtime
    req = build_request(kind, fmt, start, end, rt.settings.tz, include_pii=include_pii,
                        reason=reason)
    body = begin_export(request, req)
    with request.app.state.runtime.work() as session:
        record_export(session, principal.username, req, via="api")
    return export_response(req, body)


def begin_export(request: Request, req: ExportRequest) -> Iterator[bytes]:
    """begin(): the first batch read now; a read the database refuses is logged for the
    administrator and answered 503 (ExportFailed) with nothing recorded."""
    try:
        return begin(request.app.state.read_sessions, req)
    except ExportFailed as exc:
        log.error("export of %s could not be read", req.kind, exc_info=exc.__cause__)
        raise


SESSION_PII = ("unmasked exports with the dashboard's session go through the export form on "
               "/supervisor (a POST with its CSRF token); an API token may ask here")


def export_response(req: ExportRequest, body: Iterator[bytes]) -> StreamingResponse:
    # A sync iterator: Starlette runs each step in a worker thread, off the event loop.
    return StreamingResponse(
        body, media_type=MEDIA_TYPES[req.fmt],
        headers={"Content-Disposition": f'attachment; filename="{req.filename}"',
                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
