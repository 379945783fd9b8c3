"""What the app builds once at start-up and hands to every request: no globals, no import-time work."""

from __future__ import annotations

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
