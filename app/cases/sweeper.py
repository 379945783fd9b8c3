"""The silence timeout: cases whose question has gone unanswered go to operators as they are."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from app.kit.db import utcnow
from app.kit.events import Kind, stage
from app.kit.loops import Periodic  # noqa: F401  (the timers' loop; imported from here too)
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
