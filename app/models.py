"""Every table, in one place, so domains never import each other's tables.

Relationships are lazy="raise": a query must be written where it happens, never hidden in a loop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.kit.db import Base, UTCDateTime, utcnow

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Reporter(Base):
    """A texter, known only by phone number (personal data: masked in logs and exports)."""

    __tablename__ = "reporters"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The language the texter writes in (BCP 47: en, cy, pl...), kept for their next case.
    language: Mapped[str | None] = mapped_column(String(16))


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"), index=True)
    # Equal to reporter_id while the case is open, NULL once closed: a unique column that holds
    # "at most one open case per reporter" on every backend, even under concurrent first texts.
    open_reporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("reporters.id"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    stage: Mapped[str] = mapped_column(String(24), default="collecting")
    conversation: Mapped[str] = mapped_column(String(24), default="asking_location")
    conversation_state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    discreet: Mapped[bool] = mapped_column(Boolean, default=False)
    station_crs: Mapped[str | None] = mapped_column(String(3), index=True)
    language: Mapped[str | None] = mapped_column(String(16))  # the conversation's, BCP 47
    decision: Mapped[str | None] = mapped_column(String(8))
    queue: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[str | None] = mapped_column(String(2))
    decision_by: Mapped[str | None] = mapped_column(String(80))  # operator:<64-char name>
    decision_rule: Mapped[str | None] = mapped_column(String(64))
    decision_reasons: Mapped[list[str] | None] = mapped_column(JSONType)
    decision_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # When the person in assigned_to took it: a claim with no text from them since is stale
    # after TEXTLINE_STALE_CLAIM_MINUTES (app/cases/alerts.py).
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Indexed for the supervisor's figures and the date-ranged exports.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_bot_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(200))
    # The incident this report is one of (app/incidents/), and where it happened as the
    # incidents match places: "station:CRS" or "train:<departure> <origin> to <destination>".
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    place_key: Mapped[str | None] = mapped_column(String(120))

    reporter: Mapped[Reporter] = relationship(foreign_keys=[reporter_id], lazy="raise")
    assigned_to: Mapped[User | None] = relationship(lazy="raise")

    __table_args__ = (
        Index("ix_cases_status_updated", "status", "updated_at", "id"),
        Index("ix_cases_updated", "updated_at", "id"),
        # The dashboard's closed view lists closed cases newest first.
        Index("ix_cases_status_closed", "status", "closed_at", "id"),
        # Proposing an incident looks for reports at one place within a window of time.
        Index("ix_cases_place_last_inbound", "place_key", "last_inbound_at"),
        # An incident's cases. Only the few cases in one are indexed: with every case in it,
        # SQLite's statistics (one value, NULL, on almost every row) made the index look
        # useless and a read of an incident's cases scanned them all.
        Index("ix_cases_incident_id", "incident_id",
              postgresql_where=text("incident_id IS NOT NULL"),
              sqlite_where=text("incident_id IS NOT NULL")),
    )


class Incident(Base):
    """Several reports of the same thing: its decision is the most urgent of its cases' unless
    a person overrode it (decision_by "operator:<name>", with the reason in decision_reasons).

    An incident linked into another is emptied of its cases and keeps merged_into_id, so that
    a later link the other way round is seen as the loop it would make."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | merged
    place_key: Mapped[str | None] = mapped_column(String(120), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    decision: Mapped[str | None] = mapped_column(String(8))
    queue: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[str | None] = mapped_column(String(2))
    decision_by: Mapped[str | None] = mapped_column(String(80))
    decision_reasons: Mapped[list[str] | None] = mapped_column(JSONType)
    decision_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How urgent its cases were when a person overrode the decision: the override stands
    # until a case brings something more urgent than that.
    override_basis: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IncidentPlace(Base):
    """One row per place an incident was looked for at: locked while a report is matched
    there, so that reports of one thing read side by side still end in one incident."""

    __tablename__ = "incident_places"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Moved on by every match there, under the lock: a read that began before another match
    # committed can tell (app/incidents/service.py, locked_scene).
    matches: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class IncidentProposal(Base):
    """A report that may be the same as another, shown to operators, never linked by itself."""

    __tablename__ = "incident_proposals"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    other_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    rule: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | linked | dismissed
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseDecision(Base):
    """Every decision a case has had, in order: the dispatcher's and each person's override.

    The case row holds the decision in force (what the queue, filters and figures read); these
    rows keep the ones it replaced, so a stood-down 999 still shows what it was, who stood it
    down and why. Retention redacts the texter's words in their reasons, as on the case row.
    """

    __tablename__ = "case_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(80))  # dispatcher | operator:<username>
    decision: Mapped[str] = mapped_column(String(8))
    queue: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(2))
    rule: Mapped[str | None] = mapped_column(String(64))
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)


class CaseAlert(Base):
    """A supervisor was told that a case waited too long: an unclaimed P1 (`unclaimed`) or a
    claim with no operator text (`stale`). One row per case and reason, so each is raised once;
    cleared_at is set when the wait is over (claimed, answered, closed)."""

    __tablename__ = "case_alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    reason: Mapped[str] = mapped_column(String(16))  # unclaimed | stale
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("case_id", "reason", name="uq_case_alerts_case_reason"),
        # The banner and the queue read the alerts not yet cleared.
        Index("ix_case_alerts_cleared", "cleared_at", "case_id"),
    )


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # inbound | outbound | internal
    author: Mapped[str] = mapped_column(String(80))  # reporter | bot | operator:<u> | note:<u>
    body: Mapped[str] = mapped_column(Text)
    # Twilio's MessageSid: the inbound dedupe key, and the SID Twilio gave an outbound text.
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(200))
    segments: Mapped[int | None] = mapped_column(Integer)
    encoding: Mapped[str | None] = mapped_column(String(8))
    media: Mapped[list[str] | None] = mapped_column(JSONType)
    language: Mapped[str | None] = mapped_column(String(16))  # detected, inbound texts in words
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The queue sorts every open case by how long it has waited (its oldest inbound text since
    # the last operator text): both look-ups are a seek on this index.
    __table_args__ = (Index("ix_messages_case_direction_created", "case_id", "direction",
                            "created_at"),)


class Inbox(Base):
    """Texts acknowledged to Twilio and not yet read by the conversation.

    The webhook's whole job is to put a row here, durably, and answer 200; the processor turns
    each row into a message on its case (with the bot's replies and the dispatcher's decision)
    and deletes the row in the same transaction. A row here is a text that is safe but unread.
    """

    __tablename__ = "inbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    provider_sid: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str] = mapped_column(String(32), index=True)
    to_number: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    media: Mapped[list[str] | None] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))


class Outbox(Base):
    """Work to deliver outside the transaction that decided it: texts and integration calls."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # sms | integration
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set only when queuing a message not yet flushed (app/sms/outbox.py): one flush writes both.
    message: Mapped[Message | None] = relationship(lazy="raise")

    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # operator | supervisor | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginFailure(Base):
    """Recent failed sign-ins for one (address, username) pair, which set how long that pair
    waits before its next try. The key is an HMAC of the pair: a password typed into the
    username box is not kept in the clear. user_id names a real user, so that a supervisor can
    clear every pair that holds them back."""

    __tablename__ = "login_failures"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, so a database leak yields no usable token."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="raise")


class AuditEvent(Base):
    """Append-only, hash-chained: each row holds the hash of the previous one."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's tip, one row; locking it serialises appends so the chain never forks."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class AppSetting(Base):
    """Values the service generates for itself, such as the session-signing key."""

    __tablename__ = "app_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class WebSession(Base):
    """A dashboard login. Only the SHA-256 of the cookie's value is kept: a database leak yields
    no usable session, and logging out (or a password change) revokes it server-side."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(200))
