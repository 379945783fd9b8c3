"""The host side of the conversation seam: load the case's state, step the engine, store the result."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.models import Case, Message, Reporter

ACKNOWLEDGEMENT = (
    "Textline: thank you, we have your message. Your reference is {reference}. "
    "If anyone is in immediate danger, call 999."
)


class AcknowledgeOnly:
    """Answers the first text with the reference and the 999 advice, and asks nothing more."""

    def on_inbound(self, session: Session, case: Case, reporter: Reporter, message: Message,
                   now: datetime, *, opened: bool, reopened: bool) -> list[str]:
        if opened:
            return [ACKNOWLEDGEMENT.format(reference=case.reference)]
        return []
