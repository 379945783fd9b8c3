"""One text to one reporter of an incident, or to all of them ("officers are on their way").

Never to a reporter in discreet mode or one who has opted out, whatever the operator asks:
they are left out and named, not warned about and sent anyway. Each text is an ordinary
operator reply (app/cases/actions.py), audited as one; the incident's send is audited too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.service import Principal
from app.cases.actions import MAX_REPLY, _required_text, reply
from app.kit.errors import Conflict, NotFound, Unprocessable
from app.kit.runtime import Runtime
from app.models import Case, Incident, Message, Reporter

ALL = "all"


@dataclass(frozen=True)
class Recipient:
    case_id: int
    reference: str
    excluded: str | None  # why this reporter is never texted from here; None: may be


@dataclass(frozen=True)
class IncidentReply:
    """What one send did: the texts queued, one a reporter, and the reporters left out."""

    sent: list[tuple[Recipient, Message]]
    skipped: list[Recipient]


def recipients(session: Session, incident_id: int) -> list[Recipient]:
    out = []
    for case, opted_out in session.execute(
            select(Case, Reporter.opted_out).join(Reporter, Reporter.id == Case.reporter_id)
            .where(Case.incident_id == incident_id).order_by(Case.id)).all():
        why = ("discreet: asked not to be texted" if case.discreet
               else "opted out (STOP)" if opted_out
               else "case closed" if case.status == "closed" else None)
        out.append(Recipient(case.id, case.reference or f"#{case.id}", why))
    return out


def reply_to_incident(session: Session, rt: Runtime, incident_id: int, principal: Principal,
                      body: str, to: str, *, now: datetime,
                      via: str = "dashboard") -> IncidentReply:
    """Queue the text to `to` ("all", or one case's id): what was sent, who was left out."""
    text = _required_text(body, "body", MAX_REPLY)
    if session.get(Incident, incident_id) is None:
        raise NotFound("no such incident")
    everyone = recipients(session, incident_id)
    if to == ALL:
        chosen = [r for r in everyone if r.excluded is None]
    else:
        if not to.isdigit():
            raise Unprocessable("to must be all or one of the incident's cases")
        chosen = [r for r in everyone if r.case_id == int(to)]
        if not chosen:
            raise Unprocessable("that case is not one of this incident's")
        if chosen[0].excluded:
            raise Conflict(f"{chosen[0].reference} is not texted from here: {chosen[0].excluded}")
    if not chosen:
        raise Conflict("no reporter of this incident can be texted")
    sent = [(r, reply(session, rt, r.case_id, principal, text, now=now)) for r in chosen]
    # Sending to one leaves nobody out; sending to all names who was not texted and why.
    skipped = [r for r in everyone if r.excluded] if to == ALL else []
    record(session, principal.username, "incident.replied",
           data={"incident_id": incident_id, "to": to, "case_ids": [r.case_id for r in chosen],
                 "left_out": [r.case_id for r in skipped],
                 "left_out_why": {str(r.case_id): r.excluded for r in skipped},
                 "chars": len(text), "via": via})
    return IncidentReply(sent, skipped)
