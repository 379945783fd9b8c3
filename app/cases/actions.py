"""What an operator does to a case: reply, claim, note, override the dispatcher, close.

Each action flushes and never commits (the caller's unit of work does), writes one audit event
naming the person, and raises an AppError the client can act on. Rows are locked reporter first,
then case, the same order as an inbound text, so an action and a text from the same person
queue behind each other: a reply can never slip past a STOP that is being committed.
"""

from __future__ import annotations

import importlib
import importlib.util
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.service import Principal
from app.cases import claims, outcomes, overrides
from app.cases.decision_history import record_decision
from app.conversation.gsm import plain_lookalikes
from app.dispatch.decide import Decision
from app.incidents.service import refresh
from app.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.kit.events import Kind, stage
from app.kit.runtime import Runtime
from app.kit.validation import has_controls
from app.models import Case, Incident, Message, Reporter

MAX_REPLY = 1600  # what Twilio accepts in one outbound message
MAX_NOTE = 4000
MAX_REASON = 500
MAX_QUEUE = 32
MAX_OUTCOME = 200
DECISIONS = ("999", "101")
OVERRIDE_RULE = "override"

OPTED_OUT = "the reporter has opted out (STOP); no text can be sent until they text START"
DISCREET = ("the reporter asked not to be texted (they may not be safe to receive one); "
            "to send anyway, resend with confirm_discreet=true")
NO_OUTCOME_TEXT = ("no outcome text matches this outcome: give the text to send, or close "
                   "without notify_reporter")
TEXT_WITHOUT_NOTIFY = "text is sent only with notify_reporter=true"


def operator_author(principal: Principal) -> str:
    return f"operator:{principal.username}"


def _required_text(value: str, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise Unprocessable(f"{field} must not be blank")
    if len(text) > limit:
        raise Unprocessable(f"{field} is longer than {limit} characters")
    if has_controls(text):  # forms reach here without the API's pydantic check
        raise Unprocessable(f"{field} must not contain control characters")
    return text


def _lock_case(session: Session, case_id: int) -> tuple[Case, Reporter]:
    reporter_id = session.execute(
        select(Case.reporter_id).where(Case.id == case_id)
    ).scalar_one_or_none()
    if reporter_id is None:
        raise NotFound("no such case")
    reporter = session.execute(
        select(Reporter).where(Reporter.id == reporter_id).with_for_update(key_share=True)
    ).scalar_one()
    case = session.execute(
        select(Case).where(Case.id == case_id).with_for_update(key_share=True)).scalar_one()
    return case, reporter


def _open_case(session: Session, case_id: int, doing: str) -> tuple[Case, Reporter]:
    case, reporter = _lock_case(session, case_id)
    if case.status == "closed":
        raise Conflict(f"the case is closed; it cannot be {doing}")
    return case, reporter


def _engage(session: Session, rt: Runtime, case: Case, principal: Principal,
            now: datetime) -> None:
    """A human has the case: the bot stops asking, and it is theirs if nobody holds it."""
    case.stage = "with_operator"
    # A reply takes an unheld case, unless that would put its author over the claim cap: the
    # text still goes, the case stays unheld (and its P1 alert keeps running).
    if case.assigned_to_id is None and not claims.at_cap(session, principal.user_id,
                                                         rt.settings.max_claims):
        claims.hand_to(case, principal.user_id, now)
    engaged = getattr(rt.intake, "operator_engaged", None)
    if engaged is not None:
        engaged(session, case, now)


def _enqueue(session: Session, message: Message, phone: str) -> bool:
    """Hand the text to the outbox when the outbox exists; until then it stays "queued".

    find_spec rather than catching ImportError, so a module that exists but fails to import
    is an error here, not a text silently left unsent.
    """
    if importlib.util.find_spec("app.sms.outbox") is None:
        return False
    outbox = importlib.import_module("app.sms.outbox")
    outbox.enqueue_sms(session, message, phone)
    return True


def reply(session: Session, rt: Runtime, case_id: int, principal: Principal, body: str, *,
          confirm_discreet: bool = False, now: datetime) -> Message:
    """An operator's text to the reporter, queued for sending."""
    text = _required_text(body, "body", MAX_REPLY)
    case, reporter = _open_case(session, case_id, "replied to")
    if reporter.opted_out:
        raise Conflict(OPTED_OUT)
    discreet = case.discreet  # as the operator was warned: engaging may rewrite the column
    if discreet and not confirm_discreet:
        raise Conflict(DISCREET)
    message = Message(case_id=case.id, direction="outbound", author=operator_author(principal),
                      body=text, status="queued", created_at=now, status_at=now)
    session.add(message)
    session.flush()
    first = case.first_response_at is None
    if first:
        case.first_response_at = now
    was_assigned = case.assigned_to_id is not None
    _engage(session, rt, case, principal, now)
    case.updated_at = now
    enqueued = _enqueue(session, message, reporter.phone)
    session.flush()
    data: dict[str, Any] = {"message_id": message.id, "chars": len(text),
                            "first_response": first, "enqueued": enqueued}
    if not was_assigned:
        data["assigned_to"] = principal.username
    if discreet:
        data["discreet_confirmed"] = True
    record(session, principal.username, "message.queued", case_id=case.id, data=data)
    stage(session, Kind.MESSAGE_NEW, case.id, message_id=message.id, direction="outbound")
    return message


def claim(session: Session, rt: Runtime, case_id: int, principal: Principal, *,
          reason: str | None = None, now: datetime) -> Case:
    """Assign the case to the caller, taking it from whoever held it (audited). Beyond the
    claim cap only a supervisor with a reason may (app/cases/claims.py)."""
    reason = claims.clean_reason(reason, required=False)
    case, _ = _open_case(session, case_id, "claimed")
    previous = claims.holder_name(session, case)
    over_cap = False
    if case.assigned_to_id != principal.user_id:
        over_cap = claims.check_cap(session, rt.settings.max_claims, principal.user_id,
                                    principal, reason)
    claims.hand_to(case, principal.user_id, now)
    _engage(session, rt, case, principal, now)
    case.updated_at = now
    session.flush()
    data: dict[str, Any] = {"previous": previous,
                            "reassigned": previous not in (None, principal.username)}
    if over_cap:
        data.update(over_cap=True, reason=reason)
    record(session, principal.username, "case.claimed", case_id=case.id, data=data)
    stage(session, Kind.CASE_UPDATED, case.id, action="claim", by=principal.username)
    return case


def assign(session: Session, rt: Runtime, case_id: int, principal: Principal,
           to_username: str | None, reason: str, *, now: datetime) -> Case:
    """A supervisor takes a claim over (to_username None or their own) or hands it to another
    person, with a reason; beyond that person's claim cap too, the reason standing for it."""
    if not principal.has("supervisor"):
        raise Forbidden("only a supervisor may take over or hand on a case")
    text = claims.clean_reason(reason, required=True)
    to = claims.operator_by_name(session, to_username or principal.username)
    case, _ = _open_case(session, case_id, "reassigned")
    previous = claims.holder_name(session, case)
    if case.assigned_to_id == to.id:
        raise Conflict(f"the case is already with {to.username}")
    who = "you" if to.id == principal.user_id else to.username
    over_cap = claims.check_cap(session, rt.settings.max_claims, to.id, principal, text, who)
    claims.hand_to(case, to.id, now)
    _engage(session, rt, case, principal, now)
    case.updated_at = now
    session.flush()
    record(session, principal.username, "case.reassigned", case_id=case.id,
           data={"previous": previous, "to": to.username, "reason": text,
                 "takeover": to.id == principal.user_id, "over_cap": over_cap})
    stage(session, Kind.CASE_UPDATED, case.id, action="assign", by=principal.username)
    return case


def add_note(session: Session, case_id: int, principal: Principal, body: str, *,
             now: datetime) -> Message:
    """An internal note: stored with the transcript, never texted. Allowed on closed cases too,
    since follow-up often arrives after closing."""
    text = _required_text(body, "body", MAX_NOTE)
    case, _ = _lock_case(session, case_id)
    # API.md names statuses only for inbound and outbound messages; a note is stored, never
    # sent, so it takes the inbound "received" rather than a status no client knows.
    note = Message(case_id=case.id, direction="internal", author=f"note:{principal.username}",
                   body=text, status="received", created_at=now)
    session.add(note)
    case.updated_at = now
    session.flush()
    record(session, principal.username, "note.added", case_id=case.id,
           data={"message_id": note.id, "chars": len(text)})
    stage(session, Kind.MESSAGE_NEW, case.id, message_id=note.id, direction="internal")
    return note


def override_decision(session: Session, rt: Runtime, case_id: int, principal: Principal,
                      decision: str, queue: str, reason: str, *, priority: str | None = None,
                      now: datetime) -> Case:
    """A human's 999/101 decision. decision_by "operator:<name>" tells the dispatcher never to
    move it back; the integration hears of it, and a new 999 texts the reporter its advice.
    What an override must satisfy (known queue, fitting priority, who may stand a 999 down and
    with what reason) is in app/cases/overrides.py."""
    if decision not in DECISIONS:
        raise Unprocessable("decision must be 999 or 101")
    queue = overrides.check_queue(_required_text(queue, "queue", MAX_QUEUE),
                                  overrides.routing_queues(rt))
    asked_priority = overrides.check_priority(decision, priority)
    reason = _required_text(reason, "reason", MAX_REASON)
    case, _ = _open_case(session, case_id, "re-decided")
    overrides.check_stand_down(case, principal, decision, reason)
    previous = {"decision": case.decision, "queue": case.queue, "priority": case.priority,
                "by": case.decision_by, "rule": case.decision_rule}
    priority = asked_priority or overrides.default_priority(case, decision)
    case.decision, case.queue, case.priority = decision, queue, priority
    case.decision_by = operator_author(principal)
    case.decision_rule = OVERRIDE_RULE
    case.decision_reasons = [reason]
    case.decision_at = now
    case.updated_at = now
    record_decision(session, case)
    session.flush()
    record(session, principal.username, "decision.override", case_id=case.id,
           data={"previous": previous,
                 "new": {"decision": decision, "queue": queue, "priority": priority},
                 "reason": reason})
    rt.intake.person_decided(session, case, session.get(Reporter, case.reporter_id),
                             Decision(decision, queue, priority, OVERRIDE_RULE, (reason,)), now)
    if case.incident_id is not None:
        refresh(session, rt.settings, session.get(Incident, case.incident_id), now)
    stage(session, Kind.CASE_UPDATED, case.id, action="decision", by=principal.username)
    return case


def _outcome_text(session: Session, case: Case, reporter: Reporter, principal: Principal,
                  outcome: str, text: str | None, confirm_discreet: bool,
                  now: datetime) -> Message:
    """The texter told what happened, as any operator text: checked for STOP and discreet,
    in the transcript, through the outbox, audited."""
    if reporter.opted_out:
        raise Conflict(OPTED_OUT)
    if case.discreet and not confirm_discreet:
        raise Conflict(DISCREET)
    body = text or outcomes.text_for(outcome, case.reference or "")
    if body is None:
        raise Unprocessable(NO_OUTCOME_TEXT)
    body = plain_lookalikes(body)
    message = Message(case_id=case.id, direction="outbound", author=operator_author(principal),
                      body=body, status="queued", created_at=now, status_at=now)
    session.add(message)
    session.flush()
    first = case.first_response_at is None
    if first:
        case.first_response_at = now
    enqueued = _enqueue(session, message, reporter.phone)
    session.flush()
    data: dict[str, Any] = {"message_id": message.id, "chars": len(body), "outcome_text": True,
                            "first_response": first, "enqueued": enqueued}
    if case.discreet:
        data["discreet_confirmed"] = True
    record(session, principal.username, "message.queued", case_id=case.id, data=data)
    stage(session, Kind.MESSAGE_NEW, case.id, message_id=message.id, direction="outbound")
    return message


def close(session: Session, case_id: int, principal: Principal, outcome: str, *,
          now: datetime, notify_reporter: bool = False, text: str | None = None,
          confirm_discreet: bool = False) -> Case:
    """Close the case; its reporter may open (or, within the reopen window, reopen) one again.

    With notify_reporter, the texter is texted the outcome first, in the same transaction:
    `text` as the operator wrote it, else the outcome text whose label is the outcome
    (app/cases/outcomes.yaml). Refused (and the case left open) when the texter has sent STOP,
    or asked not to be texted and the operator has not confirmed."""
    outcome = _required_text(outcome, "outcome", MAX_OUTCOME)
    if text is not None and text.strip():
        text = _required_text(text, "text", MAX_REPLY)
        if not notify_reporter:
            raise Unprocessable(TEXT_WITHOUT_NOTIFY)
    else:
        text = None
    case, reporter = _open_case(session, case_id, "closed again")
    notified = None
    if notify_reporter:
        notified = _outcome_text(session, case, reporter, principal, outcome, text,
                                 confirm_discreet, now)
    case.status, case.stage = "closed", "closed"
    case.closed_at = now
    case.open_reporter_id = None
    case.outcome = outcome
    case.updated_at = now
    session.flush()
    data: dict[str, Any] = {"outcome": outcome}
    if notified is not None:
        data["notified_message_id"] = notified.id
    record(session, principal.username, "case.closed", case_id=case.id, data=data)
    stage(session, Kind.CASE_UPDATED, case.id, action="close", by=principal.username)
    return case
