"""The texter's full number, for a person who says why.

Every Case JSON carries the number masked, whatever the reader's role: a full number leaves the
server only here (each time a `case.phone_revealed` event with who, the case and the reason) or
in an export made with a reason. One rule for every role keeps the log complete: a supervisor's
look-up is as visible as an operator's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.service import Principal
from app.cases.schemas import is_number
from app.kit.errors import Conflict, NotFound, Unprocessable
from app.kit.validation import has_controls
from app.models import Case, Reporter

MIN_REASON_WORDS = 3
MIN_REASON_CHARS = 10
MAX_REASON = 500
REASON_HELP = ("Say why you need the number, in a few words (at least three): "
               "the reason is kept in the audit log.")


def check_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if has_controls(text):
        raise Unprocessable("reason must not contain control characters")
    if len(text) > MAX_REASON:
        raise Unprocessable(f"reason is longer than {MAX_REASON} characters")
    if len(text.split()) < MIN_REASON_WORDS or len(text) < MIN_REASON_CHARS:
        raise Unprocessable(REASON_HELP)
    return text


def reveal_phone(session: Session, case_id: int, principal: Principal, reason: str | None, *,
                 via: str, now: datetime) -> str:
    """The case's full number, recorded in the caller's transaction with the reason."""
    reason = check_reason(reason)
    phone = session.execute(
        select(Reporter.phone).join(Case, Case.reporter_id == Reporter.id).where(Case.id == case_id)
    ).scalar_one_or_none()
    if phone is None:
        raise NotFound("no such case")
    if not is_number(phone):
        raise Conflict("this texter's number was removed by retention")
    record(session, principal.username, "case.phone_revealed", case_id=case_id,
           data={"reason": reason, "via": via}, at=now)
    return phone
