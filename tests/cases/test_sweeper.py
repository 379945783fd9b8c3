"""The silence timeout moves an unanswered case to operators, and nothing else."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.cases.sweeper import Periodic, sweep_silence
from app.inbox.reader import process_pending
from app.kit.db import utcnow
from app.models import AuditEvent
from tests.helpers import text_in, token_for


def _case(client, headers, phone):
    items = client.get(f"/api/cases?phone={phone.replace('+', '%2B')}", headers=headers).json()["items"]
    return items[0]


def test_silent_case_goes_to_operators_after_the_timeout(app, client):
    headers = token_for(app)
    rt = app.state.runtime
    text_in(client, "something is not right here", phone="+447700900851")
    case = _case(client, headers, "+447700900851")
    assert case["stage"] == "collecting" and case["conversation"] == "asking_location"

    assert sweep_silence(rt, utcnow() + timedelta(minutes=9)) == 0
    assert _case(client, headers, "+447700900851")["stage"] == "collecting"

    assert sweep_silence(rt, utcnow() + timedelta(minutes=11)) == 1
    case = _case(client, headers, "+447700900851")
    assert case["stage"] == "awaiting_operator" and case["conversation"] == "done"
    assert sweep_silence(rt, utcnow() + timedelta(minutes=30)) == 0  # once only
    with app.state.sessions() as s:
        steps = s.execute(select(AuditEvent.data).where(AuditEvent.action == "conversation.step")).scalars().all()
    assert any("silence_timeout" in d["events"] for d in steps)


def test_answered_cases_are_left_alone(app, client):
    headers = token_for(app)
    text_in(client, "lad about 14 with older men giving him packages at leeds station now",
            phone="+447700900852")
    assert _case(client, headers, "+447700900852")["stage"] == "awaiting_operator"
    assert sweep_silence(app.state.runtime, utcnow() + timedelta(hours=1)) == 0


def test_periodic_survives_a_failing_run():
    import threading

    calls = []
    done = threading.Event()

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        done.set()

    task = Periodic("test", 0.01, flaky)
    task.start()
    assert done.wait(5)
    task.stop()
    assert len(calls) >= 2


def test_an_answer_waiting_unread_in_the_inbox_holds_the_timeout(app, client):
    headers = token_for(app)
    rt = app.state.runtime
    text_in(client, "something is not right here", phone="+447700900853")
    text_in(client, "leeds station platform 4", phone="+447700900853", read=False)
    assert sweep_silence(rt, utcnow() + timedelta(minutes=11)) == 0  # answered, not yet read
    assert _case(client, headers, "+447700900853")["stage"] == "collecting"
    process_pending(rt)
    case = _case(client, headers, "+447700900853")
    assert case["location"]["station"]["crs"] == "LDS"
