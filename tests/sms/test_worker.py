"""The outbox worker against a fake Twilio over real HTTP, through the real twilio client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.kit.db import utcnow
from app.kit.events import Event
from app.live.events import EventBus
from app.models import AuditEvent, Case, Message, Outbox, Reporter
from app.sms import worker
from app.sms.providers import TwilioProvider
from app.sms.worker import LEASE, MAX_ATTEMPTS, drain_once
from tests.sms.fake_twilio import (  # noqa: F401
    fake_twilio,
    make_runtime,
    queue_text,
    twilio_settings,
)

PHONE = "+447700900123"


class RecordingBus(EventBus):
    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, int | None, dict]] = []

    def deliver(self, event: Event) -> None:
        self.published.append((event.kind, event.case_id, event.data))
        super().deliver(event)


@pytest.fixture
def rt(settings_kwargs, fake_twilio):  # noqa: F811
    runtime = make_runtime(twilio_settings(settings_kwargs, fake_twilio), RecordingBus())
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def provider(rt):
    return TwilioProvider(rt.settings, timeout=0.5)


def row(rt, outbox_id: int) -> Outbox:
    with rt.sessions() as s:
        return s.get(Outbox, outbox_id)


def message(rt, message_id: int) -> Message:
    with rt.sessions() as s:
        return s.get(Message, message_id)


def actions(rt) -> list[str]:
    with rt.sessions() as s:
        return list(s.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())


def test_success_stores_sid_and_status(rt, provider, fake_twilio):  # noqa: F811
    msg_id, box_id = queue_text(rt, "Thanks, we are on it.")
    assert message(rt, msg_id).status == "queued"
    assert drain_once(rt, provider=provider) == 1
    [sent] = fake_twilio.messages
    assert (sent.to, sent.body, sent.from_) == (PHONE, "Thanks, we are on it.", "61016")
    assert sent.status_callback == "https://textline.example.org/webhooks/twilio/status"
    msg, box = message(rt, msg_id), row(rt, box_id)
    assert (msg.provider_sid, msg.status, msg.error) == (sent.sid, "sent", None)
    assert (box.state, box.attempts, box.last_error) == ("done", 1, None)
    assert box.done_at is not None
    assert "message.sent" in actions(rt)
    assert ("message.status", msg.case_id, {"message_id": msg_id, "status": "sent"}) \
        in rt.events.published
    assert drain_once(rt, provider=provider) == 0  # nothing left: never a second send
    assert len(fake_twilio.messages) == 1


def test_rate_limited_then_sent_once_later(rt, provider, fake_twilio):  # noqa: F811
    fake_twilio.script("429")
    msg_id, box_id = queue_text(rt, "Where are you now?")
    now = utcnow()
    assert drain_once(rt, provider=provider, now=now) == 1
    box = row(rt, box_id)
    assert (box.state, box.attempts) == ("pending", 1)
    assert "20429" in box.last_error
    assert box.next_attempt_at > now
    assert message(rt, msg_id).status == "queued"
    assert fake_twilio.messages == []
    assert drain_once(rt, provider=provider, now=now) == 0  # not due yet
    assert drain_once(rt, provider=provider, now=box.next_attempt_at) == 1
    assert len(fake_twilio.messages) == 1
    assert fake_twilio.lists == 0  # a 429 is a refusal: nothing to look for before resending
    assert message(rt, msg_id).status == "sent"
    assert row(rt, box_id).attempts == 2


def test_server_errors_back_off_further_each_time(rt, provider, fake_twilio):  # noqa: F811
    fake_twilio.script("500", "500", "500", "500")
    _, box_id = queue_text(rt, "Is it happening now?")
    now, delays = utcnow(), []
    for _ in range(4):
        assert drain_once(rt, provider=provider, now=now) == 1
        box = row(rt, box_id)
        assert box.state == "pending"
        delays.append(box.next_attempt_at - now)
        now = box.next_attempt_at
    assert delays == sorted(delays) and delays[0] < delays[-1]
    assert delays[0] >= timedelta(seconds=1) and delays[3] >= timedelta(seconds=8)
    assert drain_once(rt, provider=provider, now=now) == 1
    assert len(fake_twilio.messages) == 1
    # A 5xx may come after Twilio stored the text, so the retries looked before sending.
    assert fake_twilio.lists == 4


def test_opted_out_recipient_fails_with_reason(rt, provider, fake_twilio):  # noqa: F811
    fake_twilio.script("21610")
    msg_id, box_id = queue_text(rt, "Are you safe?")
    assert drain_once(rt, provider=provider) == 1
    msg, box = message(rt, msg_id), row(rt, box_id)
    assert box.state == "failed" and box.attempts == 1
    assert msg.status == "failed"
    assert "21610" in msg.error and "opted out" in msg.error
    with rt.sessions() as s:
        assert s.execute(select(Reporter.opted_out).where(Reporter.phone == PHONE)).scalar_one()
    assert {"message.failed", "reporter.opted_out"} <= set(actions(rt))
    assert fake_twilio.messages == []
    assert drain_once(rt, provider=provider, now=utcnow() + timedelta(hours=1)) == 0


def test_landline_fails_without_opting_out(rt, provider, fake_twilio):  # noqa: F811
    fake_twilio.script("30006")
    msg_id, _ = queue_text(rt, "Hello")
    drain_once(rt, provider=provider)
    msg = message(rt, msg_id)
    assert msg.status == "failed" and msg.error.startswith("30006: landline")
    with rt.sessions() as s:
        assert not s.execute(select(Reporter.opted_out)).scalar_one()


def test_hang_times_out_and_is_retried(rt, provider, fake_twilio):  # noqa: F811
    fake_twilio.hang_seconds = 1.5
    fake_twilio.script("hang")
    msg_id, box_id = queue_text(rt, "Which station?")
    now = utcnow()
    drain_once(rt, provider=provider, now=now)
    box = row(rt, box_id)
    assert box.state == "pending" and "no answer in time" in box.last_error
    assert "check_since" in box.payload
    drain_once(rt, provider=provider, now=box.next_attempt_at)
    assert [m.body for m in fake_twilio.messages] == ["Which station?"]
    assert message(rt, msg_id).provider_sid == fake_twilio.messages[0].sid


def test_accepted_but_answer_lost_is_adopted_not_resent(rt, provider, fake_twilio):  # noqa: F811
    fake_twilio.hang_seconds = 1.5
    fake_twilio.script("hang-accept")
    msg_id, box_id = queue_text(rt, "How old are they?")
    now = utcnow()
    drain_once(rt, provider=provider, now=now)
    assert row(rt, box_id).state == "pending"
    drain_once(rt, provider=provider, now=row(rt, box_id).next_attempt_at)
    [only] = fake_twilio.messages
    assert fake_twilio.posts == 1
    assert message(rt, msg_id).provider_sid == only.sid
    assert row(rt, box_id).state == "done"


def _crash_after_send(monkeypatch) -> None:
    def crash(*_args, **_kwargs):
        raise RuntimeError("worker killed before its second commit")
    monkeypatch.setattr(worker, "_finish_done", crash)


def test_crash_between_accept_and_commit_recovers_without_duplicate(
        rt, provider, fake_twilio, monkeypatch):  # noqa: F811
    msg_id, box_id = queue_text(rt, "Stay where you are if it is safe.")
    now = utcnow()
    with monkeypatch.context() as m:
        _crash_after_send(m)
        with pytest.raises(RuntimeError):
            drain_once(rt, provider=provider, now=now)
    assert len(fake_twilio.messages) == 1
    box = row(rt, box_id)
    assert box.state == "sending" and message(rt, msg_id).provider_sid is None
    # A restarted worker leaves it alone while the lease runs...
    assert drain_once(rt, provider=provider, now=now + LEASE - timedelta(seconds=1)) == 0
    # ...then looks at Twilio, finds the text, and adopts it.
    assert drain_once(rt, provider=provider, now=now + LEASE + timedelta(seconds=1)) == 1
    assert fake_twilio.posts == 1 and len(fake_twilio.messages) == 1
    msg = message(rt, msg_id)
    assert (msg.provider_sid, msg.status) == (fake_twilio.messages[0].sid, "sent")
    assert row(rt, box_id).state == "done"
    with rt.sessions() as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "message.sent")).scalar_one()
    assert event.data["recovered"] is True


def test_crash_before_send_is_sent_after_lease(rt, provider, fake_twilio):  # noqa: F811
    msg_id, box_id = queue_text(rt, "Thank you")
    now = utcnow()
    claim = worker._claim(rt, now)  # claimed and committed, then the worker died
    assert claim is not None and row(rt, box_id).state == "sending"
    assert drain_once(rt, provider=provider, now=now + LEASE + timedelta(seconds=1)) == 1
    assert fake_twilio.lists == 1 and len(fake_twilio.messages) == 1
    assert message(rt, msg_id).provider_sid == fake_twilio.messages[0].sid


def test_same_words_twice_recovery_adopts_only_its_own(rt, provider, fake_twilio, monkeypatch):  # noqa: F811
    first_id, _ = queue_text(rt, "Thank you")
    drain_once(rt, provider=provider)
    second_id, _ = queue_text(rt, "Thank you")
    now = utcnow()
    worker._claim(rt, now)  # died before sending: Twilio has only the first "Thank you"
    drain_once(rt, provider=provider, now=now + LEASE + timedelta(seconds=1))
    assert len(fake_twilio.messages) == 2
    sids = {message(rt, first_id).provider_sid, message(rt, second_id).provider_sid}
    assert sids == {m.sid for m in fake_twilio.messages}

    third_id, _ = queue_text(rt, "Thank you")
    now = utcnow()
    with monkeypatch.context() as m:
        _crash_after_send(m)
        with pytest.raises(RuntimeError):
            drain_once(rt, provider=provider, now=now)
    drain_once(rt, provider=provider, now=now + LEASE + timedelta(seconds=1))
    assert len(fake_twilio.messages) == 3
    assert message(rt, third_id).provider_sid == fake_twilio.messages[2].sid


def test_stalled_worker_cannot_overwrite_a_reclaimed_row(rt, provider, fake_twilio):  # noqa: F811
    msg_id, box_id = queue_text(rt, "Help is coming")
    now = utcnow()
    stale = worker._claim(rt, now)
    drain_once(rt, provider=provider, now=now + LEASE + timedelta(seconds=1))
    sid = message(rt, msg_id).provider_sid
    assert sid is not None
    worker._finish_failed(rt, stale, worker.SendError("late news", transient=False), now)
    assert row(rt, box_id).state == "done"
    assert (message(rt, msg_id).status, message(rt, msg_id).provider_sid) == ("sent", sid)


def test_gives_up_after_the_limit(rt, provider, fake_twilio):  # noqa: F811
    fake_twilio.script(*["429"] * MAX_ATTEMPTS)
    msg_id, box_id = queue_text(rt, "Can you see them?")
    now = utcnow()
    for _ in range(MAX_ATTEMPTS):
        assert drain_once(rt, provider=provider, now=now) == 1
        now += timedelta(hours=1)
    box, msg = row(rt, box_id), message(rt, msg_id)
    assert box.state == "failed" and box.attempts == MAX_ATTEMPTS
    assert msg.status == "failed" and msg.error.startswith(f"gave up after {MAX_ATTEMPTS}")
    assert fake_twilio.messages == []


def test_texts_to_many_cases_all_sent(rt, provider, fake_twilio):  # noqa: F811
    ids = [queue_text(rt, f"reply {i}", phone=f"+4477009001{i:02d}")[0] for i in range(25)]
    assert drain_once(rt, provider=provider, batch=20) == 20
    assert drain_once(rt, provider=provider, batch=20) == 5
    assert sorted(fake_twilio.bodies()) == sorted(f"reply {i}" for i in range(25))
    with rt.sessions() as s:
        statuses = s.execute(select(Message.status).where(Message.id.in_(ids))).scalars().all()
        assert set(statuses) == {"sent"}
        assert s.execute(select(Case)).scalars().all()
