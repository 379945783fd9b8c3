"""What the app builds once at start-up and hands to every request: no globals, no import-time work."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.kit.config import Settings

# Where a transaction keeps what it will do once it has committed (Runtime.work): the live
# events its services staged (app/live/events.py stage()), and whether it queued outbound work.
STAGED = "textline.staged_events"
QUEUED = "textline.outbox_queued"


def mark_queued(session: Session) -> None:
    session.info[QUEUED] = True


class Intake(Protocol):
    """The conversation seam: turns one stored inbound message into the bot's replies."""

    def on_inbound(self, session: Session, case: Any, reporter: Any, message: Any, now: Any, *,
                   opened: bool, reopened: bool) -> list[str]: ...

    def person_decided(self, session: Session, case: Any, reporter: Any, decision: Any,
                       now: Any) -> None: ...

    def only_thanks(self, text: str) -> bool: ...


class Events(Protocol):
    """The live-events seam: app/live/events.py's EventBus, named here by its methods so that the
    kit imports nothing from app/live, which builds on the kit."""

    def publish(self, kind: Any, case_id: int | None = None, **data: Any) -> None: ...

    def deliver(self, event: Any) -> None: ...

    def add_listener(self, fn: Callable[[Any], None]) -> None: ...

    def subscribe(self) -> AsyncIterator[Any]: ...


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    intake: Intake
    events: Events
    # For reads only: on SQLite a separate pool that never takes the write lock; on
    # PostgreSQL the same sessions as writes.
    read_sessions: sessionmaker[Session] | None = None
    # The webhook's group-committing writer (app/sms/inbox.py); None where nothing receives texts.
    inbox: Any = None
    # Set by start_senders() where this process sends (app/startup/bootstrap.py); None elsewhere.
    outbox_waker: Callable[[], None] | None = None
    # Where texts wait on local disk while a remote database is away (app/inbox/spool.py).
    spool: Any = None
    # One OpenTelemetry trace per text (app/kit/tracing.py) where TEXTLINE_OTEL_ENDPOINT is set;
    # None, and nothing of OpenTelemetry imported, where it is not.
    tracer: Any = None

    def __post_init__(self) -> None:
        if self.read_sessions is None:
            self.read_sessions = self.sessions

    def wake_outbox(self) -> None:
        """A commit has queued outbound rows: have a sender claim them now rather than at its
        next poll. Cheap (sets an event); does nothing where this process runs no senders,
        whose rows another process's senders find by polling."""
        waker = self.outbox_waker
        if waker is not None:
            waker()

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
