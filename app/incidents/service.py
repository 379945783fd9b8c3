"""Incidents in the text's own transaction: match a report after its decision, link, re-decide.

match_report() is the one step the conversation's host takes after it has decided on a text
(app/cases/conversation.py): it never commits, and everything it does (the link, the proposal,
the incident's new decision, the audit events, the integration's update, the live events) is
part of that text's commit or of none.

Two first texts about one thing read side by side (two processors, two instances) must end in
one incident: the place's row in incident_places is locked while a report is matched there, so
the second match waits for the first to commit and then sees its case (a read made before the
wait is made again: locked_scene()). On SQLite the one writer does the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.audit.service import record
from app.incidents.rules import (
    Match,
    Report,
    best,
    indicators_of,
    judge,
    place_of,
    words_of,
)
from app.incidents.scene import SPLIT_KEY, WORDS_KEY, Scene, locked_scene
from app.kit.config import Settings
from app.kit.events import Kind, stage
from app.models import Case, Incident, IncidentProposal
from app.sms.outbox import enqueue_integration

MAX_WORDS = 60
_URGENCY = {("999", "P1"): 3, ("101", "P2"): 2, ("101", "P3"): 1}


def urgency(decision: str | None, priority: str | None) -> int:
    return _URGENCY.get((decision or "", priority or ""), 0)


def report_of(case: Case) -> Report:
    state = case.conversation_state or {}
    return Report(case_id=case.id, reference=case.reference or f"#{case.id}",
                  place=place_of(case.facts), indicators=indicators_of(case.facts),
                  words=frozenset(state.get(WORDS_KEY) or ()),
                  at=case.last_inbound_at or case.created_at, incident_id=case.incident_id,
                  held=bool(state.get(SPLIT_KEY)))


def textless(evidence: dict[str, Any]) -> dict[str, Any]:
    """Evidence for the audit log, which outlives retention: how many describing words two
    reports shared, never the texters' words themselves."""
    if "words" not in evidence:
        return evidence
    return {**{k: v for k, v in evidence.items() if k != "words"},
            "shared_words": len(evidence["words"])}


def _remember_words(case: Case, text: str) -> None:
    loc = (case.facts or {}).get("location") or {}
    state = case.conversation_state or {}
    words = list(dict.fromkeys([*(state.get(WORDS_KEY) or ()),
                                *sorted(words_of(text, loc.get("text") or ""))]))
    case.conversation_state = {**state, WORDS_KEY: words[:MAX_WORDS]}


def match_report(session: Session, settings: Settings, case: Case, text: str,
                 now: datetime, *, decided: bool = True) -> None:
    """After a text's decision: where the case is, and whether it is one of an incident's.

    `decided`: whether this text changed the case's decision. When it did not, an incident the
    case is in has nothing new to decide on (every change of a member's decision, or of its
    members, decides again where it is made), so only its time is touched: no flush, no read
    of its members."""
    _remember_words(case, text)
    place = place_of(case.facts)
    case.place_key = place.key if place else None
    if case.incident_id is not None:
        if not decided:
            _touch(session, case.incident_id, now)
            return
        session.flush()  # the incident decides on its cases' decisions as stored (_members)
        refresh(session, settings, session.get(Incident, case.incident_id), now)
        return
    if place is None or case.status != "open":
        return
    window = timedelta(minutes=settings.incident_window_minutes)
    new = report_of(case)
    seen = locked_scene(session, place.key, now, window, case.id)
    matches = [m for m in (judge(new, o, window) for o in seen.reports) if m is not None]
    chosen = best(matches)
    if chosen is not None:
        link_cases(session, settings, case, chosen.other, now, by="dispatcher",
                   rule=chosen.rule, evidence=chosen.evidence, seen=seen)
        return
    # One proposal per incident (its closest report), not one per report of a crowd.
    closest: dict[object, Match] = {}
    for m in sorted(matches, key=lambda m: m.evidence.get("minutes_apart", 0)):
        closest.setdefault(m.other.incident_id or ("case", m.other.case_id), m)
    _propose(session, case, list(closest.values()), now)


# Built once: making the statement cost more Python than running it.
_TOUCH = (update(Incident.__table__).where(Incident.__table__.c.id == bindparam("incident"))
          .values(updated_at=bindparam("now")))


def _touch(session: Session, incident_id: int, now: datetime) -> None:
    """The incident's time moved on, by one UPDATE; an incident already loaded in the session
    is told, as the ORM's own UPDATE would."""
    session.execute(_TOUCH, {"incident": incident_id, "now": now})
    loaded = session.identity_map.get(identity_key(Incident, incident_id))
    if loaded is not None:
        set_committed_value(loaded, "updated_at", now)


def _propose(session: Session, case: Case, matches: list[Match], now: datetime) -> None:
    if not matches:
        return
    known = set(session.execute(select(IncidentProposal.other_case_id)
                                .where(IncidentProposal.case_id == case.id)).scalars())
    for m in matches:
        if m.other.case_id in known:
            continue
        session.add(IncidentProposal(case_id=case.id, other_case_id=m.other.case_id,
                                     rule=m.rule, evidence=m.evidence, state="open", at=now))
        record(session, "dispatcher", "incident.proposed", case_id=case.id,
               data={"other_case_id": m.other.case_id, "other": m.other.reference,
                     "rule": m.rule, "evidence": textless(m.evidence)})
        stage(session, Kind.CASE_UPDATED, case.id, action="incident.proposed")
    session.flush()


def _new_incident(session: Session, settings: Settings, place_key: str | None,
                  now: datetime) -> Incident:
    incident = Incident(status="open", place_key=place_key, created_at=now, updated_at=now)
    session.add(incident)
    session.flush()
    incident.reference = f"IN-{now.astimezone(settings.tz):%y%m%d}-{incident.id:04d}"
    record(session, "system", "incident.opened",
           data={"incident_id": incident.id, "reference": incident.reference})
    return incident


def link_cases(session: Session, settings: Settings, case: Case, other: Report, now: datetime,
               *, by: str, rule: str, evidence: dict[str, Any] | None = None,
               reason: str | None = None, seen: Scene | None = None) -> Incident:
    """`case` joins `other`'s incident, one made for the two of them if it has none.
    `seen`: what scene() read, when the match read it (the incident is then in the session)."""
    incident = session.get(Incident, other.incident_id) if other.incident_id else None
    if incident is None:
        other_case = session.get(Case, other.case_id)
        incident = _new_incident(session, settings, other_case.place_key or case.place_key,  # type: ignore[union-attr]
                                 now)
        join(session, settings, incident, other_case, now, by=by, rule=rule,  # type: ignore[arg-type]
             evidence=evidence, reason=reason, with_case=case)
        seen = None  # a new incident: its members are read, not known
    join(session, settings, incident, case, now, by=by, rule=rule, evidence=evidence,
         reason=reason, with_case=other, seen=seen)
    return incident


def join(session: Session, settings: Settings, incident: Incident, case: Case, now: datetime, *,
         by: str, rule: str, evidence: dict[str, Any] | None = None, reason: str | None = None,
         with_case: Case | Report | None = None, seen: Scene | None = None) -> None:
    """One case into one incident, audited with why; the incident decides again.
    With `seen`, the incident's cases and the open proposals are those it read: nothing is
    read again."""
    previous = case.incident_id
    case.incident_id = incident.id
    case.updated_at = now
    with_id = None if with_case is None else (
        with_case.case_id if isinstance(with_case, Report) else with_case.id)
    if with_id is not None and (seen is None or with_id in seen.proposed):
        # "Maybe the same as" either way round is answered by this link.
        session.execute(update(IncidentProposal).where(
            IncidentProposal.state == "open",
            or_(and_(IncidentProposal.case_id == case.id,
                     IncidentProposal.other_case_id == with_id),
                and_(IncidentProposal.case_id == with_id,
                     IncidentProposal.other_case_id == case.id))).values(state="linked")
            .execution_options(synchronize_session=False))  # none is loaded in this session
    members = None
    if seen is None:
        session.flush()  # its members are read next (refresh); sessions do not autoflush
    else:
        members = sorted([*(m for m in seen.members.get(incident.id, ()) if m.id != case.id),
                          case], key=lambda m: m.id)
    data: dict[str, Any] = {"incident_id": incident.id, "incident": incident.reference,
                            "by": by, "rule": rule}
    if with_case is not None:
        data["with_case_id"], data["with"] = with_id, with_case.reference
    if evidence:
        data["evidence"] = textless(evidence)
    if reason:
        data["reason"] = reason
    if previous is not None and previous != incident.id:
        data["previous_incident_id"] = previous
    record(session, by.removeprefix("operator:"), "incident.linked", case_id=case.id, data=data)
    stage(session, Kind.INCIDENT_UPDATED, case.id, incident_id=incident.id, action="linked")
    refresh(session, settings, incident, now, members)
    _tell_integration(session, settings, incident, case, "incident.case_joined", now, members)


def cases_of(session: Session, incident_id: int) -> list[Case]:
    return list(session.execute(select(Case).where(Case.incident_id == incident_id)
                                .order_by(Case.id)).scalars())


def _members(session: Session, incident_id: int) -> list[Any]:
    return list(session.execute(
        select(Case.id, Case.reference, Case.decision, Case.queue, Case.priority)
        .where(Case.incident_id == incident_id).order_by(Case.id)).all())


def refresh(session: Session, settings: Settings, incident: Incident | None,
            now: datetime, members: list[Any] | None = None) -> None:
    """The incident's decision: the most urgent of its cases', unless a person's stands.

    A person's override stands until a case brings something more urgent than the cases held
    when they decided. Reaching 999 is told live to every page that shows one of its cases."""
    if incident is None:
        return
    cases = _members(session, incident.id) if members is None else members
    top = max(cases, key=lambda c: (urgency(c.decision, c.priority), -c.id), default=None)
    top_urgency = urgency(top.decision, top.priority) if top is not None else 0
    before = (incident.decision, incident.priority)
    if (incident.decision_by or "").startswith("operator:") and \
            top_urgency <= (incident.override_basis or 0):
        pass  # the person's decision stands on what they saw
    elif top is not None and top.decision:
        by = f"case:{top.reference}"
        if (incident.decision, incident.queue, incident.priority, incident.decision_by) != (
                top.decision, top.queue, top.priority, by):
            incident.decision, incident.queue, incident.priority = (top.decision, top.queue,
                                                                    top.priority)
            incident.decision_by = by
            incident.decision_reasons = ["the most urgent of its reports"]
            incident.decision_at, incident.override_basis = now, None
    incident.updated_at = now
    if (incident.decision, incident.priority) == before:
        return
    record(session, "system", "incident.decision",
           data={"incident_id": incident.id, "decision": incident.decision,
                 "priority": incident.priority, "by": incident.decision_by,
                 "previous": {"decision": before[0], "priority": before[1]}})
    emergency = incident.decision == "999" and before[0] != "999"
    for c in cases:
        stage(session, Kind.INCIDENT_EMERGENCY if emergency else Kind.INCIDENT_UPDATED, c.id,
              incident_id=incident.id, action="decision", decision=incident.decision)


def incident_json(incident: Incident, case_ids: list[int]) -> dict[str, Any]:
    return {"id": incident.id, "reference": incident.reference, "status": incident.status,
            "decision": incident.decision, "queue": incident.queue,
            "priority": incident.priority, "case_ids": case_ids}


def _tell_integration(session: Session, settings: Settings, incident: Incident, case: Case,
                      event: str, now: datetime, members: list[Any] | None = None) -> None:
    """The CAD-style integration hears of each case that joins an incident: the call has no
    texter's number nor words, only which case is now part of what."""
    if not settings.integration_url:
        return
    ids = [c.id for c in (_members(session, incident.id) if members is None else members)]
    enqueue_integration(session, case.id, {
        "event": event, "version": 1, "incident": incident_json(incident, ids),
        "case": {"id": case.id, "reference": case.reference, "incident_id": case.incident_id,
                 "decision": case.decision, "priority": case.priority}}, now=now)


def tell_override(session: Session, settings: Settings, incident: Incident, case_ids: list[int],
                  before: dict[str, Any], now: datetime) -> None:
    """A person's decision for the incident, told to the integration as a case joining is:
    the incident, who decided, why, and what it replaced (no texter's number nor words). The
    outbox row hangs on the incident's first case, as every integration call hangs on one."""
    if not settings.integration_url:
        return
    enqueue_integration(session, min(case_ids), {
        "event": "incident.decision", "version": 1,
        "incident": incident_json(incident, sorted(case_ids)),
        "decision": {"decision": incident.decision, "queue": incident.queue,
                     "priority": incident.priority, "by": incident.decision_by,
                     "reasons": list(incident.decision_reasons or []),
                     "at": incident.decision_at.isoformat() if incident.decision_at else None},
        "previous": {"decision": before.get("decision"), "priority": before.get("priority"),
                     "by": before.get("by")}}, now=now)
