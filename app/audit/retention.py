"""Retention: closed cases past TEXTLINE_RETENTION_DAYS lose what identifies or quotes the texter.

What goes, per case: every message body (the texter's, the bot's, operators' replies and internal
notes, which quote the texter freely) and media links; the texter's words inside the facts (the
location as typed, the age as typed, the evidence for each risk and concept) and the quoted parts of the
dispatch reasons, in the decision in force and in every earlier one (case_decisions); the engine's conversation state; the phone number in the case's outbox rows
(a text's "to", the integration payload's copy of the case).

What stays, so the figures are unchanged: every timestamp, the decision, queue, priority and rule,
the station, the age range, the risk indicators, message directions, authors and delivery
statuses, and the audit log, which never held the texter's words (app/audit/textless.py).

The phone number lives on the reporter, shared by all their cases, and an open or recent case
still needs it to reach them. So the reporter's number is replaced only when every one of their
cases is closed and past the period; until then the old cases keep pointing at a reporter whose
number is still stored (and masked in exports). Once replaced, a new text from that number opens
a new reporter with no link to the old cases; an opt-out recorded against the old reporter goes
with it (Twilio itself still refuses texts to a number that sent STOP, and error 21610 opts the
new reporter out again).

Each redacted case gets a "case.redacted" audit event; that event is also how a later run knows
the case is done. The cutoff is never inside the reopen window, so a redacted case never reopens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.audit.service import record
from app.audit.textless import textless_decision, textless_reasons
from app.kit.db import unit_of_work
from app.models import AuditEvent, Case, CaseDecision, IncidentProposal, Message, Outbox, Reporter

REDACTED = "[redacted]"
PHONE_PREFIX = "redacted:"
ACTION = "case.redacted"
BATCH = 500


@dataclass(frozen=True)
class RetentionResult:
    cutoff: datetime
    cases: int
    messages: int
    reporters: int
    dry_run: bool


def cutoff_for(now: datetime, retention_days: int, reopen_hours: int) -> datetime:
    return now - max(timedelta(days=retention_days), timedelta(hours=reopen_hours))


def _due(cutoff: datetime) -> Any:
    done = exists().where(AuditEvent.case_id == Case.id, AuditEvent.action == ACTION)
    return and_(Case.status == "closed", Case.closed_at < cutoff, ~done)


def _aged_out(cutoff: datetime) -> Any:
    return and_(Case.status == "closed", Case.closed_at < cutoff)


def redact_facts(facts: dict[str, Any] | None) -> dict[str, Any]:
    """The facts' structure and values, without the words they came from."""
    facts = dict(facts or {})
    for key in ("location", "age", "immediacy"):
        if facts.get(key):
            facts[key] = {**facts[key], "text": REDACTED}
    facts["risks"] = [{**r, "evidence": REDACTED} for r in facts.get("risks") or ()]
    facts["concepts"] = [{**c, "evidence": REDACTED} for c in facts.get("concepts") or ()]
    return facts


def _redact_outbox(row: Outbox) -> None:
    payload = dict(row.payload or {})
    if "to" in payload:
        payload["to"] = REDACTED
    if isinstance(payload.get("case"), dict):
        case = payload["case"]
        payload["case"] = {"id": case.get("id"), "reference": case.get("reference"),
                           "redacted": True}
    if isinstance(payload.get("decision"), dict):
        payload["decision"] = textless_decision(payload["decision"])
    row.payload = payload
    if row.state in ("pending", "sending"):
        row.state, row.last_error = "failed", "redacted by retention before it was sent"


def _redact_case(session: Session, case: Case, actor: str, now: datetime) -> int:
    messages = session.execute(
        update(Message).where(Message.case_id == case.id)
        .values(body=REDACTED, media=None)
    ).rowcount
    case.facts = redact_facts(case.facts)
    dispatch = (case.conversation_state or {}).get("dispatch")
    case.conversation_state = {"dispatch": textless_decision(dispatch)} if dispatch else {}
    case.decision_reasons = textless_reasons(case.decision_reasons) or None
    for earlier in session.execute(
            select(CaseDecision).where(CaseDecision.case_id == case.id)).scalars():
        earlier.reasons = textless_reasons(earlier.reasons)
    for row in session.execute(select(Outbox).where(Outbox.case_id == case.id)).scalars():
        _redact_outbox(row)
    for proposal in session.execute(select(IncidentProposal).where(or_(
            IncidentProposal.case_id == case.id,
            IncidentProposal.other_case_id == case.id))).scalars():
        if (proposal.evidence or {}).get("words"):  # the texters' describing words
            proposal.evidence = {**proposal.evidence, "words": [REDACTED]}
    session.flush()
    record(session, actor, ACTION, case_id=case.id, at=now, data={"messages": messages})
    return messages


def _redact_reporters(session: Session, reporter_ids: set[int], cutoff: datetime) -> int:
    """Replace the number of each reporter none of whose cases is open or recent."""
    if not reporter_ids:
        return 0
    # Lock first, as receive() does (by phone), then look for their other cases: a text
    # arriving now either opens its case before this looks, so the number stays, or waits and
    # finds the number gone, and starts a new reporter.
    reporters = session.execute(
        select(Reporter).where(Reporter.id.in_(reporter_ids),
                               ~Reporter.phone.startswith(PHONE_PREFIX))
        .order_by(Reporter.id).with_for_update(key_share=True)
    ).scalars().all()
    keep = set(session.execute(
        select(Case.reporter_id).where(Case.reporter_id.in_(reporter_ids), ~_aged_out(cutoff))
    ).scalars())
    count = 0
    for reporter in reporters:
        if reporter.id not in keep:
            reporter.phone = f"{PHONE_PREFIX}{reporter.id}"  # unique, and never a phone number
            count += 1
    return count


def _preview(factory: sessionmaker[Session], cutoff: datetime) -> RetentionResult:
    with factory() as session:
        cases = session.execute(select(func.count(Case.id)).where(_due(cutoff))).scalar_one()
        messages = session.execute(
            select(func.count(Message.id)).join(Case, Case.id == Message.case_id)
            .where(_due(cutoff))
        ).scalar_one()
        due_reporters = select(Case.reporter_id).where(_due(cutoff))
        busy = select(Case.reporter_id).where(~_aged_out(cutoff))
        reporters = session.execute(
            select(func.count(Reporter.id)).where(
                Reporter.id.in_(due_reporters), Reporter.id.not_in(busy),
                or_(Reporter.phone.is_(None), ~Reporter.phone.startswith(PHONE_PREFIX)))
        ).scalar_one()
        session.rollback()
    return RetentionResult(cutoff, cases, messages, reporters, dry_run=True)


def run_retention(factory: sessionmaker[Session], *, now: datetime, retention_days: int,
                  reopen_hours: int = 24, actor: str = "system",
                  dry_run: bool = False) -> RetentionResult:
    """Redact every due case, a batch per transaction; a dry run only counts."""
    cutoff = cutoff_for(now, retention_days, reopen_hours)
    if dry_run:
        return _preview(factory, cutoff)
    cases = messages = reporters = 0
    while True:
        with unit_of_work(factory) as session:
            batch = session.execute(
                select(Case).where(_due(cutoff)).order_by(Case.id).limit(BATCH)
                .with_for_update(key_share=True)  # a late note (allowed on closed cases) waits its turn
            ).scalars().all()
            for case in batch:
                messages += _redact_case(session, case, actor, now)
            reporters += _redact_reporters(session, {c.reporter_id for c in batch}, cutoff)
            cases += len(batch)
            if len(batch) < BATCH:
                record(session, actor, "retention.run", at=now, data={
                    "cutoff": cutoff.isoformat(), "retention_days": retention_days,
                    "cases": cases, "messages": messages, "reporters": reporters})
                break
    return RetentionResult(cutoff, cases, messages, reporters, dry_run=False)
