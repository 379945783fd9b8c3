"""The JSON API over incidents: read them, link, split a case off, override the decision."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from app.auth.deps import require
from app.auth.service import Principal
from app.incidents import actions
from app.incidents.queries import get_incident, list_incidents
from app.incidents.schemas import IncidentOut, IncidentPage
from app.kit.db import utcnow
from app.kit.runtime import Runtime
from app.kit.validation import typed_text

router = APIRouter(prefix="/api", tags=["incidents"])

IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Operator = Annotated[Principal, Depends(require("operator"))]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


def _err(*codes: int) -> dict[int | str, dict[str, Any]]:
    names = {401: "No credentials", 403: "Role not allowed", 404: "No such incident or case",
             409: "Refused: a case linked to itself, a closed case older than the window, "
                  "a loop, or already linked", 422: "Invalid content"}
    return {code: {"description": names[code]} for code in (401, 403, *codes)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LinkIn(_Strict):
    case_id: Id | None = Field(None, description="the case to link (or give incident_id)")
    incident_id: Id | None = Field(None, description="a whole incident to link")
    to_case_id: Id | None = Field(None, description="link into this case's incident")
    to_incident_id: Id | None = Field(None, description="link into this incident")
    reason: typed_text(actions.MAX_REASON) = Field(description="kept in the audit log")


class UnlinkIn(_Strict):
    case_id: Id
    reason: typed_text(actions.MAX_REASON)


class IncidentDecisionIn(_Strict):
    decision: Literal["999", "101"]
    queue: typed_text(actions.MAX_QUEUE)
    reason: typed_text(actions.MAX_REASON)
    priority: Literal["P1", "P2", "P3"] | None = None


def _rt(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def _read(request: Request, incident_id: int) -> IncidentOut:
    """Read once the action has committed: the audit events that say who linked what are
    chained and written at the commit."""
    with request.app.state.read_sessions() as session:
        return get_incident(session, incident_id)


@router.get("/incidents", response_model=IncidentPage, responses=_err())
def incidents_index(request: Request, principal: Operator,
                    status: Literal["open", "merged"] | None = None,
                    limit: int = Query(50, ge=1, le=200),
                    cursor: str | None = Query(None, max_length=20)) -> IncidentPage:
    with request.app.state.read_sessions() as session:
        return list_incidents(session, status, limit, cursor)


@router.get("/incidents/{incident_id}", response_model=IncidentOut, responses=_err(404))
def incident_detail(request: Request, incident_id: IncidentId,
                    principal: Operator) -> IncidentOut:
    with request.app.state.read_sessions() as session:
        return get_incident(session, incident_id)


@router.post("/incidents/link", response_model=IncidentOut, responses=_err(404, 409, 422),
             summary="Link a case or an incident into another case's incident or an incident")
def post_link(request: Request, payload: LinkIn, principal: Operator) -> IncidentOut:
    rt = _rt(request)
    with rt.work() as session:
        incident = actions.link(session, rt.settings, principal, reason=payload.reason,
                                now=utcnow(), case_id=payload.case_id,
                                incident_id=payload.incident_id, to_case_id=payload.to_case_id,
                                to_incident_id=payload.to_incident_id)
        incident_id = incident.id
    return _read(request, incident_id)


@router.post("/incidents/{incident_id}/unlink", response_model=IncidentOut,
             responses=_err(404, 409, 422), summary="Split a case off the incident")
def post_unlink(request: Request, incident_id: IncidentId, payload: UnlinkIn,
                principal: Operator) -> IncidentOut:
    rt = _rt(request)
    with rt.work() as session:
        actions.unlink(session, rt.settings, principal, incident_id, payload.case_id,
                       payload.reason, now=utcnow())
    return _read(request, incident_id)


@router.post("/incidents/{incident_id}/decision", response_model=IncidentOut,
             responses=_err(404, 409, 422), summary="Override the incident's decision")
def post_decision(request: Request, incident_id: IncidentId, payload: IncidentDecisionIn,
                  principal: Operator) -> IncidentOut:
    rt = _rt(request)
    with rt.work() as session:
        actions.override(session, rt.settings, principal, incident_id, payload.decision,
                         payload.queue, payload.reason, priority=payload.priority, now=utcnow())
    return _read(request, incident_id)
