"""queue_order(), the queue's one sort, as the database applies it; and what a row says."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.dashboard.queue import mask_numbers, preview, queue_rows, risk_labels
from app.kit.db import unit_of_work, utcnow
from app.models import Case, Message, User
from tests.helpers import text_in, token_for


def _case(app, case_id: int, minutes_waiting: int, **values) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(Case).where(Case.id == case_id)
                  .values(**{"assigned_to_id": None, **values}))
        s.execute(update(Message).where(Message.case_id == case_id)
                  .values(created_at=utcnow() - timedelta(minutes=minutes_waiting)))


def test_unclaimed_p1_oldest_first_then_claimed_p1_then_p2_and_p3_the_same_way(app, client):
    token_for(app, "operator", "olly")
    with app.state.sessions() as s:
        olly = s.execute(select(User.id).where(User.username == "olly")).scalar_one()
    for n in range(8):
        text_in(client, "someone shouting at leeds station", phone=f"+44770090030{n}")
    p1, p2, p3 = ({"priority": p, "decision": d, "queue": q} for p, d, q in
                  (("P1", "999", "emergency"), ("P2", "101", "general"), ("P3", "101", "general")))
    _case(app, 1, 30, **p3)
    _case(app, 2, 2, **p1, assigned_to_id=olly)   # P1 claimed, long waiting
    _case(app, 3, 1, **p1)                        # P1 unclaimed, newer
    _case(app, 4, 5, **p1)                        # P1 unclaimed, oldest
    _case(app, 5, 40, **p2, assigned_to_id=olly)  # P2 claimed, however old
    _case(app, 6, 3, **p2)                        # P2 unclaimed
    _case(app, 7, 50, priority=None, decision=None, queue=None)  # not yet decided: last
    _case(app, 8, 1, **p3)
    with app.state.sessions() as s:
        order = [(row.id, row.priority, row.assigned_to) for row in queue_rows(s)]
    assert [i for i, _, _ in order] == [4, 3, 2, 6, 5, 1, 8, 7], order
    # Bound parameters all the way: a hostile queue filter is a value, never SQL.
    with app.state.sessions() as s:
        assert queue_rows(s, queue="general' OR '1'='1") == []


def test_a_row_tells_the_story(app, client):
    text_in(client, "a man has a knife on platform 4 at leeds now", phone="+447700900401")
    text_in(client, "he said call him on 07700 900 123 or +447700900999, " + "and more words " * 8,
            phone="+447700900401")
    with app.state.sessions() as s:
        (row,) = queue_rows(s)
    labels = dict(row.risks)
    assert "weapon" in labels and "knife" in labels["weapon"], row.risks
    assert row.latest is not None and len(row.latest) <= 81 and row.latest.endswith("…")
    assert "07700" not in row.latest and "+44770" not in row.latest
    assert row.latest.startswith("he said call him on [number] or [number],")
    assert row.language == "en"  # the conversation's; the row marks only a language other than English


def test_preview_masks_numbers_and_cuts_at_a_word():
    assert preview(None) is None
    assert preview("call 01632 960 001 now") == "call [number] now"
    assert preview("platform 14 at 14:32, £20") == "platform 14 at 14:32, £20"  # not numbers
    long = "word " * 30
    cut = preview(long)
    assert cut is not None and cut.endswith("…") and len(cut) <= 81 and "  " not in cut
    assert mask_numbers("(+44) 7700-900-123") != "(+44) 7700-900-123"


def test_risk_labels_keep_their_evidence_once_each():
    facts = {"risks": [{"indicator": "weapon", "evidence": "knife"},
                       {"indicator": "weapon", "evidence": "knife"},
                       {"indicator": "self_harm", "evidence": "hurt myself"}]}
    assert risk_labels(facts) == (("weapon", "\u201cknife\u201d"),
                                  ("self harm", "\u201churt myself\u201d"))
    assert risk_labels({}) == ()
