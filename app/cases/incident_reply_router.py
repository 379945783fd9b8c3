"""The JSON API's reply to an incident's reporters: all of them, or one.

It lives with the cases (each text is an operator's reply to one case, app/cases/actions.py)
and is the same send as the incident page's reply box (app/cases/incident_reply.py): discreet
and opted-out reporters, and closed cases, are never texted from here, and the answer names
them with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from app.auth.deps import require
from app.auth.service import Principal
from app.cases.actions import MAX_REPLY
from app.cases.incident_reply import ALL, reply_to_incident
from app.kit.db import utcnow
from app.kit.runtime import Runtime
from app.kit.validation import typed_text

router = APIRouter(prefix="/api", tags=["incidents"])

IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Operator = Annotated[Principal, Depends(require("operator"))]


class IncidentReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: typed_text(MAX_REPLY) = Field(description="the text, 1 to 1600 characters")
    case_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = Field(
        None, description="text only this case's reporter; left out, every reporter of the "
                          "incident who may be texted")


class SentOut(BaseModel):
    case_id: int
    reference: str
    message_id: int


class SkippedOut(BaseModel):
    case_id: int
    reference: str
    reason: str = Field(description="why this reporter is never texted from here: discreet, "
                                    "opted out (STOP) or the case closed")


class IncidentReplyOut(BaseModel):
    incident_id: int
    sent: list[SentOut]
    skipped: list[SkippedOut]


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No credentials"}, 403: {"description": "Role not allowed"},
    404: {"description": "No such incident"},
    409: {"description": "The one reporter asked for is discreet, opted out or closed, or no "
                         "reporter of the incident can be texted"},
    422: {"description": "Invalid content, or a case that is not one of the incident's"}}


@router.post("/incidents/{incident_id}/messages", status_code=201,
             response_model=IncidentReplyOut, responses=_ERRORS,
             summary="Text the incident's reporters, or one of them")
def post_incident_reply(request: Request, incident_id: IncidentId, payload: IncidentReplyIn,
                        principal: Operator) -> IncidentReplyOut:
    rt: Runtime = request.app.state.runtime
    to = ALL if payload.case_id is None else str(payload.case_id)
    with rt.work() as session:
        done = reply_to_incident(session, rt, incident_id, principal, payload.body, to,
                                 now=utcnow(), via="api")
        out = IncidentReplyOut(
            incident_id=incident_id,
            sent=[SentOut(case_id=r.case_id, reference=r.reference, message_id=m.id)
                  for r, m in done.sent],
            skipped=[SkippedOut(case_id=r.case_id, reference=r.reference,
                                reason=r.excluded or "") for r in done.skipped])
    return out
