"""The outbox worker with many sends in flight: concurrent, each text once, one number's texts
in order and never two at once, a 429 retried."""

from __future__ import annotations

import time
from collections import Counter

from sqlalchemy import select

from app.live.events import EventBus
from app.models import Outbox
from app.sms.worker import OutboxWorker
from tests.sms.fake_twilio import (  # noqa: F401
    fake_twilio,
    make_runtime,
    queue_text,
    twilio_settings,
)


def states(rt) -> Counter:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return Counter(s.execute(select(Outbox.state)).scalars())


def wait_all_done(rt, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while set(states(rt)) != {"done"}:
        assert time.monotonic() < deadline, f"outbox not drained: {states(rt)}"
        time.sleep(0.05)


def test_sends_are_in_flight_together_and_each_text_goes_once(settings_kwargs, fake_twilio):  # noqa: F811
    rt = make_runtime(twilio_settings(settings_kwargs, fake_twilio), EventBus())
    fake_twilio.answer_delay = 0.3
    for i in range(24):
        queue_text(rt, f"reply {i}", phone=f"+4477009003{i:02d}")
    sender = OutboxWorker(rt, in_flight=8)
    sender.start()
    try:
        wait_all_done(rt)
    finally:
        sender.stop()
        rt.engine.dispose()
    assert Counter(fake_twilio.bodies()) == Counter(f"reply {i}" for i in range(24))
    assert fake_twilio.posts == 24
    # Concurrent, and bounded by the setting; how fast that makes a burst is the benchmark's
    # to say (bench/bench_answers.py), not a test's.
    assert 1 < fake_twilio.most_in_flight <= 8


def test_one_numbers_texts_go_in_order_one_at_a_time(settings_kwargs, fake_twilio):  # noqa: F811
    rt = make_runtime(twilio_settings(settings_kwargs, fake_twilio), EventBus())
    fake_twilio.answer_delay = 0.05
    ours, other = "+447700900401", "+447700900402"
    for i in range(6):
        queue_text(rt, f"ours {i}", phone=ours)
        queue_text(rt, f"other {i}", phone=other)
    sender = OutboxWorker(rt, in_flight=16)
    sender.start()
    try:
        wait_all_done(rt)
    finally:
        sender.stop()
        rt.engine.dispose()
    assert [m.body for m in fake_twilio.sent_to(ours)] == [f"ours {i}" for i in range(6)]
    assert [m.body for m in fake_twilio.sent_to(other)] == [f"other {i}" for i in range(6)]
    assert fake_twilio.most_in_flight_to == {ours: 1, other: 1}
    assert fake_twilio.most_in_flight == 2  # the two numbers side by side


def test_429_is_retried_with_backoff_and_the_next_text_to_that_number_waits(
        settings_kwargs, fake_twilio):  # noqa: F811
    rt = make_runtime(twilio_settings(settings_kwargs, fake_twilio), EventBus())
    fake_twilio.script("429")  # the first send is refused: Too Many Requests
    _, first_box = queue_text(rt, "first", phone="+447700900501")
    queue_text(rt, "second", phone="+447700900501")
    sender = OutboxWorker(rt, in_flight=8, poll=0.1)
    began = time.monotonic()
    sender.start()
    try:
        wait_all_done(rt)
        took = time.monotonic() - began
    finally:
        sender.stop()
    with rt.sessions() as s:
        assert s.get(Outbox, first_box).attempts == 2
    rt.engine.dispose()
    assert fake_twilio.posts == 3  # the refused attempt, its retry, the second text
    assert [m.body for m in fake_twilio.messages] == ["first", "second"]  # still in order
    assert fake_twilio.lists == 0  # a 429 is a refusal: nothing to look for before resending
    assert took >= 1.0  # the retry waited out its backoff (1-2 s)
