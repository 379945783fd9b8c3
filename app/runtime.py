"""What the app builds once at start-up and hands to every request: no globals, no import-time work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.events import STAGED, EventBus

# Set on a session that queued outbound work: once it commits, a sender should look.
QUEUED = "textline.outbox_queued"


def mark_queued(session: Session) -> None:
    session.info[QUEUED] = True


def _nothing() -> None:
    return None


class Intake(Protocol):
    """The conversation seam: turns one stored inbound message into the bot's replies."""

    def on_inbound(self, session: Session, case: Any, reporter: Any, message: Any, now: Any, *,
                   opened: bool, reopened: bool) -> list[str]: ...

    def person_decided(self, session: Session, case: Any, reporter: Any, decision: Any,
                       now: Any) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    intake: Intake
    events: EventBus
    # For reads only: on SQLite a separate pool that never takes the write lock; on
    # PostgreSQL the same sessions as writes.
    read_sessions: sessionmaker[Session] | None = None
    # The webhook's group-committing writer (app/sms/inbox.py); None where nothing receives texts.
    inbox: Any = None
    # Where texts wait on local disk while a remote database is away (app/inbox/spool.py).
    spool: Any = None
    # Wakes this process's outbox senders, if it runs any (set when they start).
    wake_outbox: Callable[[], None] = _nothing

    def __post_init__(self) -> None:
        if self.read_sessions is None:
            self.read_sessions = self.sessions

    @contextmanager
    def work(self) -> Iterator[Session]:
        """One transaction: commit when the block ends normally, roll back on any exception;
        after the commit, deliver the events it staged and wake the outbox if it queued work.

        Services only flush and stage; whoever opens the work owns the commit, so a response
        is sent, and a dashboard hears of a change, only once it is durable."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            staged, queued = session.info.pop(STAGED, ()), session.info.pop(QUEUED, False)
            session.close()
        for event in staged:
            self.events.deliver(event)
        if queued:
            self.wake_outbox()
