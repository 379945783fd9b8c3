"""The public Case JSON (API.md section 4): separate from the tables on purpose."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from app.kit.logs import mask_phone
from app.models import Case, CaseDecision, Message, Reporter


class StationOut(BaseModel):
    name: str
    crs: str


class LocationOut(BaseModel):
    text: str
    station: StationOut | None = None
    platform: str | None = None
    train: str | None = None
    coach: str | None = None


class AgeOut(BaseModel):
    text: str
    min: int | None = None
    max: int | None = None
    child: bool | None = None


class RiskOut(BaseModel):
    indicator: str
    evidence: str


class DecisionOut(BaseModel):
    decision: Literal["999", "101"]
    queue: str
    by: str
    rule: str | None = None
    reasons: list[str]
    at: datetime


class DecisionRecordOut(BaseModel):
    """One decision the case has had: by "dispatcher" or "operator:<username>"."""

    decision: Literal["999", "101"]
    queue: str
    priority: Literal["P1", "P2", "P3"] | None
    by: str
    rule: str | None = None
    reasons: list[str]
    at: datetime


def is_number(phone: str) -> bool:
    """False for what retention leaves in a number's place ('redacted:<id>')."""
    return bool(phone) and phone[0] in "+0123456789"


def masked_phone(phone: str) -> str:
    """The number as the Case JSON shows it: masked as in exports ('+44770090****'); retention's
    placeholder is no number and is shown as it is."""
    return mask_phone(phone) if is_number(phone) else phone


class ReporterOut(BaseModel):
    """The texter. Masked here, once, for every reader and every role: the full number is
    only given by POST /api/cases/{id}/phone (or the case page's reveal), with an audited
    reason."""

    phone: Annotated[str, AfterValidator(masked_phone)] = Field(
        description="masked ('+44770090****'); the full number from POST /api/cases/{id}/phone")
    phone_masked: Literal[True] = True
    opted_out: bool
    discreet: bool


class MessageOut(BaseModel):
    id: int
    direction: Literal["inbound", "outbound", "internal"]
    author: str
    body: str
    at: datetime
    status: str
    segments: int | None = None
    encoding: str | None = None
    error: str | None = None
    language: str | None = Field(
        default=None, description="BCP 47 code of an inbound text in words (en, cy, pl...); "
        "null for a text too short to tell (ok, yes, a name) and for outbound texts")


class CaseOut(BaseModel):
    id: int
    reference: str
    status: Literal["open", "closed"]
    stage: Literal["collecting", "awaiting_operator", "with_operator", "closed"]
    conversation: Literal["asking_what", "asking_location", "confirming_location", "asking_age",
                          "asking_immediacy", "done"]
    priority: Literal["P1", "P2", "P3"] | None
    decision: DecisionOut | None
    reporter: ReporterOut
    location: LocationOut | None
    age: AgeOut | None
    immediacy: Literal["now", "recent", "past", "unknown"] | None
    risk: list[RiskOut]
    language: str | None = Field(
        default=None, description="the conversation's language, BCP 47 (en, cy, pl...); "
        "null until a text in words")
    assigned_to: str | None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    incident_id: int | None = Field(
        default=None, description="the incident this is one report of (GET /api/incidents/{id})")
    messages: list[MessageOut] | None = Field(default=None, description="only in GET /api/cases/{id}")
    decisions: list[DecisionRecordOut] | None = Field(
        default=None, description="every decision, oldest first; only in GET /api/cases/{id}")


class CasePage(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None


def message_out(m: Message) -> MessageOut:
    return MessageOut(id=m.id, direction=m.direction, author=m.author, body=m.body,  # type: ignore[arg-type]
                      at=m.created_at, status=m.status, segments=m.segments,
                      encoding=m.encoding, error=m.error, language=m.language)


def decisions_out(case: Case, history: list[CaseDecision]) -> list[DecisionRecordOut]:
    """The stored history, ending in the decision in force even where no row records it (a
    case decided before the history was kept, or a row changed by hand)."""
    out = [DecisionRecordOut(decision=d.decision, queue=d.queue, priority=d.priority or None,  # type: ignore[arg-type]
                             by=d.by, rule=d.rule, reasons=list(d.reasons or []), at=d.at)
           for d in history]
    if not case.decision:
        return out
    current = DecisionRecordOut(
        decision=case.decision, queue=case.queue or "", priority=case.priority,  # type: ignore[arg-type]
        by=case.decision_by or "dispatcher", rule=case.decision_rule,
        reasons=list(case.decision_reasons or []), at=case.decision_at or case.updated_at)
    key = ("decision", "queue", "priority", "by", "rule")
    if not out or any(getattr(out[-1], k) != getattr(current, k) for k in key):
        out.append(current)
    return out


def case_out(case: Case, reporter: Reporter, assigned: str | None,
             messages: list[Message] | None = None,
             decisions: list[CaseDecision] | None = None) -> CaseOut:
    facts: dict[str, Any] = case.facts or {}
    loc = facts.get("location")
    location = None
    if loc:
        st = loc.get("station")
        location = LocationOut(
            text=loc.get("text", ""),
            station=StationOut(name=st["name"], crs=st["crs"]) if st else None,
            platform=loc.get("platform"), train=loc.get("train"), coach=loc.get("coach"),
        )
    age = AgeOut(**{k: facts["age"].get(k) for k in ("text", "min", "max", "child")}) \
        if facts.get("age") else None
    imm = facts.get("immediacy")
    decision = None
    if case.decision:
        decision = DecisionOut(decision=case.decision, queue=case.queue or "",  # type: ignore[arg-type]
                               by=case.decision_by or "dispatcher", rule=case.decision_rule,
                               reasons=list(case.decision_reasons or []),
                               at=case.decision_at or case.updated_at)
    return CaseOut(
        id=case.id, reference=case.reference or "", status=case.status,  # type: ignore[arg-type]
        stage=case.stage, conversation=case.conversation,  # type: ignore[arg-type]
        priority=case.priority, decision=decision,  # type: ignore[arg-type]
        reporter=ReporterOut(phone=reporter.phone, opted_out=reporter.opted_out,
                             discreet=case.discreet),
        location=location, age=age, immediacy=imm["value"] if imm else None,
        risk=[RiskOut(indicator=r["indicator"], evidence=r["evidence"])
              for r in facts.get("risks") or []],
        language=case.language,
        assigned_to=assigned, created_at=case.created_at, updated_at=case.updated_at,
        first_response_at=case.first_response_at, closed_at=case.closed_at,
        outcome=case.outcome, incident_id=case.incident_id,
        messages=[message_out(m) for m in messages] if messages is not None else None,
        decisions=decisions_out(case, decisions) if decisions is not None else None,
    )
