"""The queue's order and filters, read straight from the database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.dashboard.queue import NO_QUEUE, queue_rows
from app.kit.db import unit_of_work, utcnow
from app.models import Case, Message
from tests.helpers import text_in


def _set(app, case_id: int, **values) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(Case).where(Case.id == case_id).values(**values))


def _age_messages(app, case_id: int, minutes: int) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(Message).where(Message.case_id == case_id)
                  .values(created_at=utcnow() - timedelta(minutes=minutes)))


def _operator_reply(app, case_id: int) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(app.state.sessions) as s:
        s.add(Message(case_id=case_id, direction="outbound", author="operator:alice",
                      body="on our way", status="sent", created_at=utcnow()))


def _ids(app, **kw) -> list[int]:  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        return [row.id for row in queue_rows(s, **kw)]


def test_priority_first_then_the_longest_waiting_then_the_answered(app, client):
    for n in range(4):
        text_in(client, "someone shouting at leeds station", phone=f"+44770090010{n}")
    _set(app, 1, priority="P2", decision="101", queue="general")
    _set(app, 2, priority="P3", decision="101", queue="general")
    _set(app, 3, priority="P1", decision="999", queue="emergency")
    _set(app, 4, priority="P2", decision="101", queue="general")
    _age_messages(app, 1, 10)
    _age_messages(app, 2, 20)
    _age_messages(app, 3, 1)
    _age_messages(app, 4, 30)
    _operator_reply(app, 4)  # answered: no longer waiting, however old
    # P1; the P2 waiting, then the P2 answered however old; the P3 last, however long it waits.
    assert _ids(app) == [3, 1, 4, 2]

    # A new text after the operator's reply makes the case wait again, from that text.
    text_in(client, "they are still here", phone="+447700900103")
    with app.state.sessions() as s:
        row = next(r for r in queue_rows(s) if r.id == 4)
        newest = s.execute(select(Message.created_at).where(Message.case_id == 4)
                           .order_by(Message.id.desc()).limit(1)).scalar_one()
    assert row.waiting_since == newest
    assert _ids(app) == [3, 1, 4, 2]  # waiting again, but for less time than case 1


def test_waiting_counts_from_the_first_unanswered_text(app, client):
    text_in(client, "someone shouting at leeds station")
    text_in(client, "still shouting")
    with app.state.sessions() as s:
        first = s.execute(select(Message.created_at).where(Message.direction == "inbound")
                          .order_by(Message.id).limit(1)).scalar_one()
        assert queue_rows(s)[0].waiting_since == first


def test_filters_by_status_and_queue(app, client):
    for n in range(3):
        text_in(client, "someone shouting at leeds station", phone=f"+44770090020{n}")
    _set(app, 1, priority="P1", decision="999", queue="emergency", stage="with_operator")
    _set(app, 2, status="closed", stage="closed", closed_at=utcnow(), open_reporter_id=None)
    assert _ids(app, queue="emergency") == [1]
    assert set(_ids(app)) == {1, 3}
    assert _ids(app, status="closed") == [2]
    assert _ids(app, status="with_operator") == [1]
    assert 1 not in _ids(app, queue=NO_QUEUE)
