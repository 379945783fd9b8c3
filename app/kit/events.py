"""What a live event is, and how a transaction stages one: delivered only once it commits.

The bus that fans events out to dashboards is app/live/events.py; Runtime.work() hands it what a
transaction staged."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from app.kit.runtime import STAGED


class Kind(StrEnum):
    CASE_OPENED = "case.opened"  # a text opened a case
    CASE_UPDATED = "case.updated"  # claimed, decided, closed, or moved on by the silence timer
    MESSAGE_NEW = "message.new"  # a text read, a reply or a note added
    MESSAGE_STATUS = "message.status"  # a text's delivery status moved on
    CASE_ALERTED = "case.alerted"  # a supervisor must be told: a P1 unclaimed, a claim stale
    CASE_VIEWING = "case.viewing"  # who has a case open (presence; never stored)
    INCIDENT_UPDATED = "incident.updated"  # a case linked or split off, its incident re-decided
    INCIDENT_EMERGENCY = "incident.emergency"  # a case's incident reached 999 by any report


@dataclass(frozen=True)
class Event:
    kind: Kind
    case_id: int | None
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "case_id": self.case_id, "data": self.data,
                           "at": self.at}, default=str)


def stage(session: Session, kind: Kind, case_id: int | None, **data: Any) -> None:
    """An event for the dashboards, delivered only if and once this transaction commits."""
    session.info.setdefault(STAGED, []).append(Event(kind, case_id, data))
