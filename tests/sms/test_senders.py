"""Several outbox workers in one process: a burst of replies goes out side by side, each once."""

from __future__ import annotations

import time
from collections import Counter

from sqlalchemy import func, select

from app.live.events import EventBus
from app.models import Outbox
from app.startup.bootstrap import start_senders
from tests.sms.fake_twilio import (  # noqa: F401
    fake_twilio,
    make_runtime,
    queue_text,
    twilio_settings,
)


def test_senders_send_a_burst_side_by_side_and_each_text_once(settings_kwargs, fake_twilio):  # noqa: F811
    rt = make_runtime(twilio_settings(settings_kwargs, fake_twilio, outbox_senders=4), EventBus())
    fake_twilio.answer_delay = 0.2  # a provider's round trip
    for i in range(12):
        queue_text(rt, f"reply {i}", phone=f"+4477009002{i:02d}")
    senders = start_senders(rt)
    try:
        assert len(senders) == 4 and len({s.name for s in senders}) == 4
        rt.wake_outbox()  # what a commit that queued replies does
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with rt.sessions() as s:
                if s.execute(select(func.count()).select_from(Outbox)
                             .where(Outbox.state != "done")).scalar_one() == 0:
                    break
            time.sleep(0.05)
    finally:
        for sender in senders:
            sender.stop()
        rt.engine.dispose()
    assert Counter(fake_twilio.bodies()) == Counter(f"reply {i}" for i in range(12))
    assert fake_twilio.most_in_flight >= 2  # not one after another
