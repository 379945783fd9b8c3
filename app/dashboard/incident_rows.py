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
    incident: bool = True


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
        out.append(IncidentRow(
            id=incident.id, reference=incident.reference or f"#{incident.id}",
            priority=incident.priority, decision=incident.decision, queue=incident.queue,
            place=_place_label(incident.place_key), texters=len(members),
            case_ids=tuple(m.id for m in members), newest_text_at=max(newest, default=None),
            waiting_since=min(waits, default=None), discreet=any(m.discreet for m in members),
            opted_out=any(m.opted_out for m in members)))
    # An incident's priority may be above its first report's: P1 rows lead, as in the queue.
    out.sort(key=lambda r: r.priority != "P1")
    return out
