"""Who holds a case: the cap on one operator's open claims, and a supervisor handing a claim on.

An operator holds at most TEXTLINE_MAX_CLAIMS open cases. A claim beyond it is refused (409)
with the reason; a supervisor may go beyond it for one case by giving a reason, which the audit
event keeps. Taking a case over, or handing it to someone else, is a supervisor's act, audited
with the reason and who held it before.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.kit.errors import Conflict, NotFound, Unprocessable
from app.models import Case, User

MAX_REASON = 500


def open_claims(session: Session, user_id: int) -> int:
    return session.execute(
        select(func.count()).select_from(Case)
        .where(Case.status == "open", Case.assigned_to_id == user_id)
    ).scalar_one()


def at_cap(session: Session, user_id: int, cap: int) -> bool:
    return open_claims(session, user_id) >= cap


def cap_refusal(held: int, cap: int, who: str = "you") -> str:
    return (f"{who} already hold{'s' if who != 'you' else ''} {held} open case"
            f"{'' if held == 1 else 's'}, the most one operator may hold at once "
            f"({cap}); close or hand one on first, or ask a supervisor, who may go beyond "
            "it for one case with a reason")


def check_cap(session: Session, cap: int, holder_id: int, principal: Principal,
              reason: str | None, who: str = "you") -> bool:
    """Whether this claim goes beyond the cap (allowed: a supervisor gave a reason); raises
    Conflict when it would and may not."""
    held = open_claims(session, holder_id)
    if held < cap:
        return False
    if principal.has("supervisor") and reason:
        return True
    raise Conflict(cap_refusal(held, cap, who))


def hand_to(case: Case, user_id: int, now: datetime) -> None:
    if case.assigned_to_id != user_id:
        case.assigned_at = now
    case.assigned_to_id = user_id


def holder_name(session: Session, case: Case) -> str | None:
    if case.assigned_to_id is None:
        return None
    return session.execute(
        select(User.username).where(User.id == case.assigned_to_id)).scalar_one()


def operator_by_name(session: Session, username: str) -> User:
    user = session.execute(
        select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        raise NotFound(f"no active user {username!r}")
    return user


def clean_reason(reason: str | None, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if not text:
        if required:
            raise Unprocessable("reason must not be blank")
        return None
    if len(text) > MAX_REASON:
        raise Unprocessable(f"reason is longer than {MAX_REASON} characters")
    return text
