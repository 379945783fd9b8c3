"""What the app builds once at start-up and hands to every request: no globals, no import-time work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.events import EventBus


class Intake(Protocol):
    """The conversation seam: turns one stored inbound message into the bot's replies."""

    def on_inbound(self, session: Session, case: Any, reporter: Any, message: Any, now: Any, *,
                   opened: bool, reopened: bool) -> list[str]: ...


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
    # Set by start_senders() where this process sends (app/bootstrap.py); None elsewhere.
    outbox_waker: Callable[[], None] | None = None

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
