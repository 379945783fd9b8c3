"""Several workers, each with its own engine, draining one outbox at once: one send per row."""

from __future__ import annotations

import threading
import time
from collections import Counter

from sqlalchemy import func, select

from app.models import Message, Outbox
from app.sms.providers import TwilioProvider
from app.sms.worker import drain_once
from tests.sms.fake_twilio import (  # noqa: F401
    fake_twilio,
    make_runtime,
    queue_text,
    twilio_settings,
)

ROWS, WORKERS = 200, 6


def test_many_workers_send_each_row_exactly_once(settings_kwargs, fake_twilio):  # noqa: F811
    settings = twilio_settings(settings_kwargs, fake_twilio)
    setup = make_runtime(settings)
    for i in range(ROWS):
        queue_text(setup, f"text {i}", phone=f"+44770090{i:04d}")
    fake_twilio.script("429", "500", "429")  # a few retries in the mix

    errors: list[BaseException] = []
    handled = Counter()
    start = threading.Barrier(WORKERS)

    def work(n: int) -> None:
        rt = make_runtime(settings)
        provider = TwilioProvider(settings, timeout=5)
        try:
            start.wait()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                got = drain_once(rt, provider=provider, batch=10)
                handled[n] += got
                with rt.sessions() as s:
                    left = s.execute(select(func.count()).select_from(Outbox)
                                     .where(Outbox.state != "done")).scalar_one()
                if left == 0:
                    return
                if got == 0:
                    time.sleep(0.2)  # only the retried rows remain, waiting for their backoff
        except BaseException as exc:
            errors.append(exc)
        finally:
            rt.engine.dispose()

    began = time.monotonic()
    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    elapsed = time.monotonic() - began
    print(f"\n{ROWS} rows, {WORKERS} workers, {settings_kwargs['database_url'].split(':')[0]}: "
          f"{elapsed:.2f}s; rows claimed per worker {sorted(handled.values())}")

    assert errors == []
    sent = Counter(fake_twilio.bodies())
    assert len(sent) == ROWS and set(sent.values()) == {1}
    assert sum(handled.values()) == ROWS + 3  # each row once, plus the three retried attempts
    with setup.sessions() as s:
        assert s.execute(select(func.count()).select_from(Outbox)
                         .where(Outbox.state == "done")).scalar_one() == ROWS
        sids = s.execute(select(Message.provider_sid)).scalars().all()
    assert sorted(sids) == sorted(m.sid for m in fake_twilio.messages)
    setup.engine.dispose()
