"""receive(): the path of one inbound text through the case, the conversation and dispatch."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.cases.service import (
    InboundText,
    Incoming,
    Received,
    already_received,
    find_or_open_case,
    lock_reporter,
    received,
    store_text,
)
from app.kit.runtime import Runtime
from app.models import Case, Reporter


def receive(session: Session, rt: Runtime, text: InboundText, now: datetime, *,
            reporter: Reporter | None = None, converse: bool = True,
            stored: bool | None = None, open_case: Case | None = None) -> Received | None:
    """Store one inbound text and everything it causes; None when it is a duplicate.

    `text` is what the inbox holds of it (app/inbox/reader.py hands over the inbox row's
    fields): cases never import the inbox, the inbox imports cases.

    `reporter` is the texter's row if the caller has already locked it. With converse=False the
    text is only stored on its case, for an operator to read: the fallback when the
    conversation itself has failed on it (app/inbox/reader.py). A caller reading many texts
    at once may say whether the text is already `stored` and pass the texter's `open_case`, as
    it has looked them up for all of them together, under the texters' locks.
    """
    if reporter is None:
        reporter = lock_reporter(session, text.phone, now)
    if stored if stored is not None else already_received(session, text.sid):
        return None
    only_thanks = getattr(rt.intake, "only_thanks", None)
    case, opened, reopened = find_or_open_case(
        session, reporter, now, reopen_within=timedelta(hours=rt.settings.reopen_hours),
        tz=rt.settings.tz, open_case=open_case,
        only_thanks=(lambda: only_thanks(text.body)) if converse and only_thanks else None,
    )
    ids = received(session, case, text, now)
    message = Incoming(text.body)
    replies: list[str] = []
    if converse and case.status != "closed":  # a thank-you kept on its closed case: no answer
        began = time.time_ns()
        replies = rt.intake.on_inbound(session, case, reporter, message, now, opened=opened,
                                       reopened=reopened)
        if rt.tracer is not None:
            rt.tracer.span("decision", text.sid, began, time.time_ns(), decision=case.decision,
                           queue=case.queue, priority=case.priority, rule=case.decision_rule,
                           replies=len(replies))
    ids.extend(store_text(session, case, reporter, text, message.language, replies, now))
    session.flush()
    return Received(case=case, message_id=ids[0], replies=replies, opened=opened,
                    reopened=reopened)
