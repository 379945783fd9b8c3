"""The public Incident JSON: an incident, its decision, and its reports in brief.

A report's full Case (messages, decisions) stays at GET /api/cases/{id}; here each case is what
an operator needs to see several side by side.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class IncidentCaseOut(BaseModel):
    id: int
    reference: str
    status: Literal["open", "closed"]
    priority: Literal["P1", "P2", "P3"] | None
    decision: Literal["999", "101"] | None
    location: str | None = Field(description="the words the case's location came from")
    risk: list[str]
    discreet: bool
    opted_out: bool
    last_text_at: datetime | None
    linked_by: str | None = Field(
        None, description="the rule, or operator:<username>, that linked it (audit log)")


class IncidentOut(BaseModel):
    id: int
    reference: str
    status: Literal["open", "merged"]
    merged_into_id: int | None
    place: str | None = Field(description="'station:CRS' or 'train:<departure> <from> to <to>'")
    decision: Literal["999", "101"] | None
    queue: str | None
    priority: Literal["P1", "P2", "P3"] | None
    decision_by: str | None = Field(
        description="case:<reference> (the most urgent report) or operator:<username>")
    decision_reasons: list[str]
    texters: int
    newest_text_at: datetime | None
    created_at: datetime
    updated_at: datetime
    case_ids: list[int]
    cases: list[IncidentCaseOut] | None = Field(
        default=None, description="only in GET /api/incidents/{id}")


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None
