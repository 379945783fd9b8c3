"""The silence timeout: cases whose question has gone unanswered go to operators as they are."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import select

from app.kit.db import utcnow
from app.kit.events import Kind, stage
from app.kit.runtime import Runtime
from app.models import Case, Inbox, Reporter

log = logging.getLogger("textline.sweeper")


def sweep_silence(rt: Runtime, now: datetime | None = None, batch: int = 200) -> int:
    """Stop asking on every collecting case silent for TEXTLINE_SILENCE_MINUTES; returns how many."""
    now = now or utcnow()
    minutes = rt.settings.silence_minutes
    silent_since = now - timedelta(minutes=minutes)
    with rt.sessions() as session:
        ids = session.execute(
            select(Case.id).where(Case.status == "open", Case.stage == "collecting",
                                  Case.updated_at <= silent_since).limit(batch)
        ).scalars().all()
    moved = []
    for case_id in ids:
        # One transaction a case: a text arriving meanwhile wins (the lock, then a re-check).
        with rt.work() as session:
            case = session.execute(
                select(Case).where(Case.id == case_id).with_for_update(key_share=True)).scalar_one()
            if case.stage != "collecting" or case.updated_at > silent_since:
                continue
            if _answer_waiting(session, case):
                continue  # the texter has answered; the processor has not read it yet
            if rt.intake.silence(session, case, now, minutes):
                stage(session, Kind.CASE_UPDATED, case_id, reason="silence")
                moved.append(case_id)
    if moved:
        log.info("silence timeout: %d cases to operators", len(moved))
    return len(moved)


def _answer_waiting(session, case: Case) -> bool:  # type: ignore[no-untyped-def]
    unread = (select(Inbox.id).join(Reporter, Reporter.phone == Inbox.phone)
              .where(Reporter.id == case.reporter_id).limit(1))
    return session.execute(unread).first() is not None


class Periodic:
    """Runs fn every `interval` seconds on a daemon thread until stop(); errors are logged."""

    def __init__(self, name: str, interval: float, fn) -> None:  # type: ignore[no-untyped-def]
        self.name, self.interval, self.fn = name, interval, fn
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.fn()
            except Exception:
                log.exception("%s failed; will try again", self.name)
