"""The operator actions on a case (API.md section 4): reply, claim, note, decision, close.

Each request is one unit of work; the live event goes out only after it has committed, so a
dashboard that reloads on the event reads what was stored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from app.auth.deps import require
from app.auth.service import Principal
from app.cases import actions, claims
from app.cases.openapi_links import SAME_PATH, THIS_CASE, act_on_case, links, read_case
from app.cases.queries import get_case
from app.cases.schemas import CaseOut, MessageOut, message_out
from app.kit.db import utcnow
from app.kit.runtime import Runtime
from app.kit.validation import typed_text

router = APIRouter(prefix="/api", tags=["case actions"])

CaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Operator = Annotated[Principal, Depends(require("operator"))]
Supervisor = Annotated[Principal, Depends(require("supervisor"))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReplyIn(_Strict):
    body: typed_text(actions.MAX_REPLY)
    confirm_discreet: bool = False


class NoteIn(_Strict):
    body: typed_text(actions.MAX_NOTE)


class DecisionIn(_Strict):
    decision: Literal["999", "101"]
    queue: typed_text(actions.MAX_QUEUE) = Field(
        description="one of the routing file's queues (the built-in file: emergency, "
                    "safeguarding, general)")
    reason: typed_text(actions.MAX_REASON) = Field(
        description="kept in the audit log and the decision history; moving a 999 down to 101 "
                    "needs at least 3 words and 15 characters")
    priority: Literal["P1", "P2", "P3"] | None = Field(
        None, description="P1 for a 999, P2 or P3 for a 101; left out, a 999 is P1 and a 101 "
                          "keeps its 101 priority (else P2)")


class ClaimIn(_Strict):
    reason: typed_text(claims.MAX_REASON) | None = Field(
        None, description="a supervisor going beyond TEXTLINE_MAX_CLAIMS for this one case says "
                          "why (kept in the audit log); operators cannot go beyond it")


class AssignIn(_Strict):
    to: typed_text(64) | None = Field(
        None, description="the username to hand the case to; left out, the caller takes it over")
    reason: typed_text(claims.MAX_REASON) = Field(
        description="why the claim moves (kept in the audit log); it also stands for going "
                    "beyond the new holder's TEXTLINE_MAX_CLAIMS")


class CloseIn(_Strict):
    outcome: typed_text(actions.MAX_OUTCOME) = Field(
        description="what happened, kept on the case (the close form offers Officers attended, "
                    "Passed to local force, No further action, Advice given and others)")
    notify_reporter: bool = Field(
        False, description="text the reporter the outcome before closing, through the outbox "
                           "like any operator text; 409 if they have sent STOP, or asked not to "
                           "be texted and confirm_discreet is not true")
    text: typed_text(actions.MAX_REPLY) | None = Field(  # type: ignore[valid-type]
        None, description="the text to send with notify_reporter (422 without it); left out, "
                          "the outcome text whose label is the outcome, with the case's "
                          "reference (422 if no label matches)")
    confirm_discreet: bool = Field(
        False, description="the operator has read the discreet warning and sends anyway")


def _err(*codes: int) -> dict[int | str, dict[str, Any]]:
    names = {401: "No credentials", 403: "Role not allowed", 404: "No such case",
             409: "The case's state forbids this", 422: "Invalid content"}
    return {code: {"description": names[code]} for code in (401, 403, *codes)}


def _rt(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


@router.post("/cases/{case_id}/messages", status_code=201, response_model=MessageOut,
             summary="Reply to the texter",
             responses={**_err(404, 409, 422), **links(201, read_case(SAME_PATH))})
def post_reply(request: Request, case_id: CaseId, payload: ReplyIn,
               principal: Operator) -> MessageOut:
    rt = _rt(request)
    with rt.work() as session:
        message = actions.reply(session, rt, case_id, principal, payload.body,
                                confirm_discreet=payload.confirm_discreet, now=utcnow())
        out = message_out(message)
    return out


@router.post("/cases/{case_id}/claim", response_model=CaseOut,
             summary="Assign the case to the caller",
             description="Refused (409) when the caller already holds TEXTLINE_MAX_CLAIMS open "
                         "cases, unless a supervisor gives a reason.",
             responses={**_err(404, 409, 422), **links(200, {**read_case(THIS_CASE),
                                                             **act_on_case(THIS_CASE)})})
def post_claim(request: Request, case_id: CaseId, principal: Operator,
               payload: ClaimIn | None = None) -> CaseOut:
    rt = _rt(request)
    with rt.work() as session:
        actions.claim(session, rt, case_id, principal,
                      reason=payload.reason if payload else None, now=utcnow())
        out = get_case(session, case_id)
    return out


@router.post("/cases/{case_id}/assign", response_model=CaseOut,
             summary="Take over or hand on a claim (supervisor)",
             responses={**_err(404, 409, 422), **links(200, read_case(THIS_CASE))})
def post_assign(request: Request, case_id: CaseId, payload: AssignIn,
                principal: Supervisor) -> CaseOut:
    rt = _rt(request)
    with rt.work() as session:
        actions.assign(session, rt, case_id, principal, payload.to, payload.reason,
                       now=utcnow())
        out = get_case(session, case_id)
    return out


@router.post("/cases/{case_id}/notes", status_code=201, response_model=MessageOut,
             summary="Add an internal note (never texted)",
             responses={**_err(404, 422), **links(201, read_case(SAME_PATH))})
def post_note(request: Request, case_id: CaseId, payload: NoteIn,
              principal: Operator) -> MessageOut:
    rt = _rt(request)
    with rt.work() as session:
        note = actions.add_note(session, case_id, principal, payload.body, now=utcnow())
        out = message_out(note)
    return out


@router.post("/cases/{case_id}/decision", response_model=CaseOut,
             summary="Override the dispatcher's decision",
             responses={**_err(404, 409, 422), 403: {"description": (
                 "Role not allowed, or a 999 moved down to 101 by an operator who has not "
                 "claimed the case")}, **links(200, read_case(THIS_CASE))})
def post_decision(request: Request, case_id: CaseId, payload: DecisionIn,
                  principal: Operator) -> CaseOut:
    rt = _rt(request)
    with rt.work() as session:
        actions.override_decision(session, rt, case_id, principal, payload.decision,
                                  payload.queue, payload.reason, priority=payload.priority,
                                  now=utcnow())
        out = get_case(session, case_id)
    return out


@router.post("/cases/{case_id}/close", response_model=CaseOut,
             summary="Close the case, optionally texting the reporter its outcome",
             responses={**_err(404, 409, 422), **links(200, read_case(THIS_CASE))})
def post_close(request: Request, case_id: CaseId, payload: CloseIn,
               principal: Operator) -> CaseOut:
    rt = _rt(request)
    with rt.work() as session:
        actions.close(session, case_id, principal, payload.outcome, now=utcnow(),
                      notify_reporter=payload.notify_reporter, text=payload.text,
                      confirm_discreet=payload.confirm_discreet)
        out = get_case(session, case_id)
    return out
