"""What the app builds once at start-up and hands to every request: no globals, no import-time work."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.kit.config import Settings


class Intake(Protocol):
    """The conversation seam: turns one stored inbound message into the bot's replies."""

    def on_inbound(self, session: Session, case: Any, reporter: Any, message: Any, now: Any, *,
                   opened: bool, reopened: bool) -> list[str]: ...


class Events(Protocol):
    """The live-events seam: app/live/events.py's EventBus, named here by its methods so that the
    kit imports nothing from app/live, which builds on the kit."""

    def publish(self, kind: str, case_id: int | None = None, **data: Any) -> None: ...

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

    def __post_init__(self) -> None:
        if self.read_sessions is None:
            self.read_sessions = self.sessions
