"""Reads of personal data in the audit log, with a user's repeats folded into one event.

Every read of a case's transcript is a `case.viewed` event and every page of the case list a
`cases.listed` event. A case page left open fetches its live fragment at each new text and every
half minute; recording each fetch would bury the log's other events. So a read is recorded only
when the same user has no event for the same read in the last `TEXTLINE_READ_AUDIT_MINUTES`:
at most one event per user and case (or list page) per window, whatever the number of reads.

A process remembers what it recorded, so a repeat costs no query at all. For a case it does not
remember, one query on the case's own events (indexed by case_id) finds what another process or
an earlier run recorded. The list's events have no case to be found by, so a repeated list is
folded by the memory alone: with N server processes it may be recorded up to N times a window.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.service import record
from app.kit.db import unit_of_work, utcnow
from app.models import AuditEvent

VIEWED = "case.viewed"
LISTED = "cases.listed"


class ReadAudit:
    def __init__(self, sessions: sessionmaker[Session], read_sessions: sessionmaker[Session],
                 window: timedelta, max_remembered: int = 20_000) -> None:
        self.sessions = sessions
        self.read_sessions = read_sessions
        self.window = window
        self.max_remembered = max_remembered
        self._recorded: dict[Hashable, datetime] = {}  # in the order remembered
        self._lock = threading.Lock()

    def case_viewed(self, actor: str, case_id: int, via: str,
                    now: datetime | None = None) -> bool:
        """Record that `actor` read case `case_id`'s transcript, unless already in the window."""
        now = now or utcnow()
        key = (VIEWED, actor, case_id)
        if not self._claim(key, now):
            return False
        try:
            if self.window:
                with self.read_sessions() as session:
                    last = session.execute(
                        select(func.max(AuditEvent.at)).where(
                            AuditEvent.case_id == case_id, AuditEvent.action == VIEWED,
                            AuditEvent.actor == actor, AuditEvent.at > now - self.window)
                    ).scalar()
                if last is not None:
                    self._remember(key, last)
                    return False
            with unit_of_work(self.sessions) as session:
                record(session, actor, VIEWED, case_id=case_id, data={"via": via}, at=now)
        except BaseException:
            self._forget(key, now)
            raise
        return True

    def cases_listed(self, actor: str, fold: Hashable, data: dict[str, Any],
                     now: datetime | None = None) -> bool:
        """Record one page of the case list; `fold` names the reads that count as a repeat."""
        now = now or utcnow()
        key = (LISTED, actor, fold)
        if not self._claim(key, now):
            return False
        try:
            with unit_of_work(self.sessions) as session:
                record(session, actor, LISTED, data=data, at=now)
        except BaseException:
            self._forget(key, now)
            raise
        return True

    @classmethod
    def of(cls, request: Any) -> ReadAudit:
        """The app's one instance (create_app builds it)."""
        return request.app.state.read_audit  # type: ignore[no-any-return]

    # ---- the process's memory of what it recorded

    def _claim(self, key: Hashable, now: datetime) -> bool:
        """True when the read should be recorded: marked at once, so that two requests at the
        same moment do not both record it."""
        if not self.window:
            return True
        with self._lock:
            last = self._recorded.get(key)
            if last is not None and now - last < self.window:
                return False
            self._put(key, now)
            return True

    def _remember(self, key: Hashable, at: datetime) -> None:
        with self._lock:
            self._put(key, at)

    def _forget(self, key: Hashable, claimed: datetime) -> None:
        with self._lock:
            if self._recorded.get(key) == claimed:
                del self._recorded[key]

    def _put(self, key: Hashable, at: datetime) -> None:
        self._recorded.pop(key, None)
        self._recorded[key] = at
        if len(self._recorded) > self.max_remembered:
            # Forgetting only costs a query (a case) or an extra event (a list); the oldest go.
            for old in list(self._recorded)[: len(self._recorded) // 2]:
                del self._recorded[old]
