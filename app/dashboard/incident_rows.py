"""The queue shows an incident once: its reports folded into one row where the first of them
stood, with how many texters, the newest text and the longest wait."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.dashboard.queue import QueueRow
from app.models import Case, Incident


@dataclass(frozen=True)
class IncidentRow:
    id: int
    reference: str
    priority: str | None
    decision: str | None
    queue: str | None
    place: str
    texters: int
    case_ids: tuple[int, ...]
    newest_text_at: datetime | None
    waiting_since: datetime | None  # the longest wait among its reports
    discreet: bool
    opted_out: bool
    risks: tuple[tuple[str, str], ...] = ()  # every report's labels, each once
    latest: str | None = None  # the newest report's newest text, as the queue row shows it
    incident: bool = True


PRIORITY_RANK = {"P1": 0, "P2": 1, "P3": 2}


def _place_label(key: str | None) -> str:
    if not key:
        return "place not known"
    kind, _, value = key.partition(":")
    return f"train {value}" if kind == "train" else f"station {value}"


def fold(session: Session, rows: list[QueueRow]) -> list[Any]:
    """The queue's rows with each incident's reports as one row (an incident of one report
    stays a case row)."""
    if not rows:
        return rows
    ids = [r.id for r in rows]
    member = dict(session.execute(select(Case.id, Case.incident_id).where(
        Case.id.in_(ids), Case.incident_id.is_not(None))).all())
    groups: dict[int, list[QueueRow]] = {}
    for row in rows:
        if row.id in member:
            groups.setdefault(member[row.id], []).append(row)
    groups = {k: v for k, v in groups.items() if len(v) > 1}
    if not groups:
        return rows
    incidents = {i.id: i for i in session.execute(
        select(Incident).where(Incident.id.in_(list(groups)))).scalars()}
    last_text = dict(session.execute(select(Case.id, Case.last_inbound_at).where(
        Case.id.in_([r.id for g in groups.values() for r in g]))).all())
    out: list[Any] = []
    shown: set[int] = set()
    for row in rows:
        incident_id = member.get(row.id)
        if incident_id not in groups:
            out.append(row)
            continue
        if incident_id in shown:
            continue  # the first member stood for them all
        shown.add(incident_id)
        members = groups[incident_id]
        incident = incidents[incident_id]
        waits = [m.waiting_since for m in members if m.waiting_since is not None]
        newest = [last_text[m.id] for m in members if last_text.get(m.id) is not None]
        freshest = max(members, key=lambda m: (last_text.get(m.id) is not None,
                                               last_text.get(m.id) or m.updated_at))
        labels: dict[str, str] = {}
        for m in members:
            for label, words in m.risks:
                labels.setdefault(label, words)
        out.append(IncidentRow(
            id=incident.id, reference=incident.reference or f"#{incident.id}",
            priority=incident.priority, decision=incident.decision, queue=incident.queue,
            place=_place_label(incident.place_key), texters=len(members),
            case_ids=tuple(m.id for m in members), newest_text_at=max(newest, default=None),
            waiting_since=min(waits, default=None), discreet=any(m.discreet for m in members),
            opted_out=any(m.opted_out for m in members),
            risks=tuple(labels.items()), latest=freshest.latest))
    # An incident's priority may be above its first report's: sorted again by priority alone
    # (a stable sort), so within a priority the queue's own order stands.
    out.sort(key=lambda r: PRIORITY_RANK.get(r.priority, len(PRIORITY_RANK)))
    return out
