"""Exports of cases, messages and the audit log, as CSV or NDJSON, streamed from the database.

Rows are read in keyset batches (id > last id, LIMIT n), each batch in its own short session from
the read-only pool, so memory stays flat however long the range, and no transaction stays open
while a slow client reads (on SQLite a long reader would stop the WAL from being checkpointed).
Phone numbers are masked unless the caller asked for personal data with a reason; that request is
itself an audit event, written only once the request is valid and the first batch has been read
(`begin`), so an export that cannot be made fails before it is recorded as made.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain, islice
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.audit.service import record
from app.kit.errors import AppError, BadRequest
from app.kit.logs import mask_phone, mask_phones_in
from app.models import AuditEvent, Case, Message, Reporter, User

KINDS = ("cases", "messages", "audit")
FORMATS = ("csv", "ndjson")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}
BATCH = 5000
MAX_REASON = 500
NEEDS_REASON = "include_pii needs a reason, which is audited"
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's list: = + - @,
# and tab / carriage return, which some programs strip before looking).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Export bounds a database and a file name can hold: a date outside them is refused, not a 500.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# Zero-width and other format characters that a spreadsheet may not show or may skip.
_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u180e]")

CASE_COLUMNS = (
    "id", "reference", "created_at", "status", "stage", "priority", "decision", "queue",
    "decision_by", "decision_rule", "decision_reasons", "decision_at", "station_crs",
    "location", "age_min", "age_max", "child", "immediacy", "risks", "discreet",
    "reporter_phone", "assigned_to", "first_bot_reply_at", "first_response_at", "closed_at",
    "outcome", "language", "reporter_language", "incident_id",
)
# reporter_phone last: columns are only ever added, so a reader that counts them still works.
MESSAGE_COLUMNS = (
    "id", "case_id", "case_reference", "created_at", "direction", "author", "status",
    "status_at", "segments", "error", "body", "reporter_phone", "language",
)
AUDIT_COLUMNS = ("seq", "at", "actor", "action", "case_id", "data", "prev_hash", "hash")
COLUMNS = {"cases": CASE_COLUMNS, "messages": MESSAGE_COLUMNS, "audit": AUDIT_COLUMNS}


class ExportFailed(AppError):
    """The database could not read the export's first batch: nothing was sent or recorded."""

    status_code = 503


@dataclass(frozen=True)
class ExportRequest:
    kind: str
    fmt: str
    start: datetime  # inclusive
    end: datetime  # exclusive
    include_pii: bool = False
    reason: str | None = None

    @property
    def last_day(self) -> date:
        """The last day the export covers: the day of the instant just before its exclusive end
        (a "to 2026-12-07" export ends at midnight starting the 8th and covers the 7th)."""
        return (self.end - timedelta(microseconds=1)).date()

    @property
    def filename(self) -> str:
        return f"textline-{self.kind}-{self.start:%Y%m%d}-{self.last_day:%Y%m%d}.{self.fmt}"


def parse_bound(value: str, tz: Any, *, end: bool) -> datetime:
    """A day (YYYY-MM-DD, local to the control room; an end day is included whole) or an ISO
    date-time (naive ones are local too)."""
    value = value.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            at = datetime.combine(day + timedelta(days=1) if end else day, time(), tz)
        else:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if at.tzinfo is None:
                at = at.replace(tzinfo=tz)
        in_range = _EARLIEST <= at.astimezone(UTC) <= _LATEST
    except (ValueError, OverflowError):
        raise BadRequest(f"not a date: {value[:40]!r} (use YYYY-MM-DD)") from None
    if not in_range:
        raise BadRequest(f"out of range: {value[:40]!r} (between 1970 and 2199)")
    return at


def build_request(kind: str, fmt: str, start: str, end: str, tz: Any, *,
                  include_pii: bool = False, reason: str | None = None) -> ExportRequest:
    if kind not in KINDS:
        raise BadRequest(f"unknown export {kind!r}: one of {', '.join(KINDS)}")
    if fmt not in FORMATS:
        raise BadRequest(f"unknown format {fmt!r}: csv or ndjson")
    lo, hi = parse_bound(start, tz, end=False), parse_bound(end, tz, end=True)
    if hi <= lo:
        raise BadRequest("the range is empty: 'to' must not be before 'from'")
    reason = (reason or "").strip() or None
    if include_pii and not reason:
        raise BadRequest(NEEDS_REASON)
    if reason and len(reason) > MAX_REASON:
        raise BadRequest(f"reason is longer than {MAX_REASON} characters")
    return ExportRequest(kind, fmt, lo, hi, include_pii, reason)


VIAS = ("dashboard", "api", "cli")


def record_export(session: Session, actor: str, req: ExportRequest, *, via: str) -> None:
    """Who took what, and why, and through which door: written (and committed by the caller)
    after `begin` has read the first batch and before the first byte goes out."""
    if via not in VIAS:
        raise ValueError(f"via must be one of {VIAS}, not {via!r}")
    record(session, actor, "export.created", data={
        "kind": req.kind, "format": req.fmt, "from": req.start.isoformat(),
        "to": req.end.isoformat(), "include_pii": req.include_pii, "reason": req.reason,
        "via": via,
    })


# ---- rows


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _phone(phone: str | None, pii: bool) -> str:
    return (phone or "") if pii else mask_phone(phone)


def _case_row(case: Case, phone: str | None, assigned: str | None, pii: bool,
              reporter_language: str | None = None) -> dict[str, Any]:
    facts = case.facts or {}
    loc, age, imm = facts.get("location") or {}, facts.get("age") or {}, facts.get("immediacy") or {}
    risks = "; ".join(f"{r.get('indicator')}: {r.get('evidence')}" for r in facts.get("risks") or ())
    location = loc.get("text")
    return {
        "id": case.id, "reference": case.reference, "created_at": _iso(case.created_at),
        "status": case.status, "stage": case.stage, "priority": case.priority,
        "decision": case.decision, "queue": case.queue, "decision_by": case.decision_by,
        "decision_rule": case.decision_rule,
        "decision_reasons": "; ".join(case.decision_reasons or ()) or None,
        "decision_at": _iso(case.decision_at), "station_crs": case.station_crs,
        "location": location if pii or location is None else mask_phones_in(location),
        "age_min": age.get("min"), "age_max": age.get("max"), "child": age.get("child"),
        "immediacy": imm.get("value"), "risks": risks or None, "discreet": case.discreet,
        "reporter_phone": _phone(phone, pii), "assigned_to": assigned,
        "first_bot_reply_at": _iso(case.first_bot_reply_at),
        "first_response_at": _iso(case.first_response_at), "closed_at": _iso(case.closed_at),
        "outcome": case.outcome, "language": case.language,
        "reporter_language": reporter_language, "incident_id": case.incident_id,
    }


def _cases(session: Session, req: ExportRequest, last: int) -> list[tuple[int, dict[str, Any]]]:
    rows = session.execute(
        select(Case, Reporter.phone, User.username, Reporter.language)
        .join(Reporter, Reporter.id == Case.reporter_id)
        .outerjoin(User, User.id == Case.assigned_to_id)
        .where(Case.id > last, Case.created_at >= req.start, Case.created_at < req.end)
        .order_by(Case.id).limit(BATCH)
    ).all()
    return [(c.id, _case_row(c, phone, user, req.include_pii, lang))
            for c, phone, user, lang in rows]


def _messages(session: Session, req: ExportRequest, last: int) -> list[tuple[int, dict[str, Any]]]:
    rows = session.execute(
        select(Message.id, Message.case_id, Case.reference, Message.created_at, Message.direction,
               Message.author, Message.status, Message.status_at, Message.segments,
               Message.error, Message.body, Reporter.phone, Message.language)
        .join(Case, Case.id == Message.case_id)
        .join(Reporter, Reporter.id == Case.reporter_id)
        .where(Message.id > last, Message.created_at >= req.start, Message.created_at < req.end)
        .order_by(Message.id).limit(BATCH)
    ).all()
    out = []
    for r in rows:
        body = r.body if req.include_pii else mask_phones_in(r.body)
        out.append((r.id, {
            "id": r.id, "case_id": r.case_id, "case_reference": r.reference,
            "created_at": _iso(r.created_at), "direction": r.direction, "author": r.author,
            "status": r.status, "status_at": _iso(r.status_at), "segments": r.segments,
            "error": r.error, "body": body, "reporter_phone": _phone(r.phone, req.include_pii),
            "language": r.language,
        }))
    return out


def _audit(session: Session, req: ExportRequest, last: int) -> list[tuple[int, dict[str, Any]]]:
    rows = session.execute(
        select(AuditEvent)
        .where(AuditEvent.id > last, AuditEvent.at >= req.start, AuditEvent.at < req.end)
        .order_by(AuditEvent.id).limit(BATCH)
    ).scalars().all()
    out = []
    for ev in rows:
        out.append((ev.id, {
            "seq": ev.seq, "at": _iso(ev.at), "actor": ev.actor, "action": ev.action,
            "case_id": ev.case_id, "data": ev.data, "prev_hash": ev.prev_hash, "hash": ev.hash,
        }))
    return out


_READERS: dict[str, Callable[[Session, ExportRequest, int], list[tuple[int, dict[str, Any]]]]] = {
    "cases": _cases, "messages": _messages, "audit": _audit,
}
_COUNTED = {"cases": (Case.id, Case.created_at), "messages": (Message.id, Message.created_at),
            "audit": (AuditEvent.id, AuditEvent.at)}


def count_rows(factory: sessionmaker[Session], req: ExportRequest) -> int:
    """How many rows the export will hold (for a progress bar)."""
    key, at = _COUNTED[req.kind]
    with factory() as session:
        return session.execute(
            select(func.count(key)).where(at >= req.start, at < req.end)
        ).scalar_one()


def iter_rows(factory: sessionmaker[Session], req: ExportRequest) -> Iterator[list[dict[str, Any]]]:
    """Batches of rows in id order; each batch read in its own short session."""
    reader, last = _READERS[req.kind], 0
    while True:
        with factory() as session:
            batch = reader(session, req, last)
            session.rollback()
        if not batch:
            return
        last = batch[-1][0]
        yield [row for _, row in batch]
        if len(batch) < BATCH:
            return


# ---- formats


def neutralise(value: str) -> str:
    """A leading quote makes a spreadsheet show the text instead of running it. The start is
    judged as a spreadsheet would read it: after NFKC ("＝" is "=") and with leading
    whitespace and invisible characters ("\n=1+1", " =1+1", "\u200b=1+1") set aside."""
    start = _INVISIBLE.sub("", unicodedata.normalize("NFKC", value[:64])).lstrip()
    looks = start.startswith(_FORMULA_START) or value.startswith(_FORMULA_START)
    return "'" + value if looks else value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return neutralise(value) if isinstance(value, str) else value


def encode(req: ExportRequest, batches: Iterator[list[dict[str, Any]]],
           on_rows: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The export as chunks of bytes, one per batch (a CSV header comes first)."""
    columns = COLUMNS[req.kind]
    if req.fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(columns)
        yield buf.getvalue().encode()
    for batch in batches:
        if req.fmt == "csv":
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\r\n")
            writer.writerows([_csv_cell(row[c]) for c in columns] for row in batch)
            chunk = buf.getvalue()
        else:
            chunk = "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"
                            for row in batch)
        yield chunk.encode()
        if on_rows is not None:
            on_rows(len(batch))


def stream(factory: sessionmaker[Session], req: ExportRequest,
           on_rows: Callable[[int], None] | None = None) -> Iterator[bytes]:
    return encode(req, iter_rows(factory, req), on_rows)


def begin(factory: sessionmaker[Session], req: ExportRequest,
          on_rows: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The export, with its first batch already read and encoded here, in the caller's thread:
    if the database refuses the query, the caller gets the exception before it audits the export
    and before any answer has begun. An export of one batch or less is thus made in full before
    it is recorded; a longer one reads the rest as the client takes it, by the same query."""
    chunks = encode(req, iter_rows(factory, req), on_rows)
    try:
        ready = list(islice(chunks, 2 if req.fmt == "csv" else 1))  # (the CSV header and) batch one
    except SQLAlchemyError as exc:
        raise ExportFailed("the database could not read the export: nothing was exported or "
                           "recorded; try again, or tell the administrator") from exc
    return chain(ready, chunks)
