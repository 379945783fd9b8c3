"""Both at once, against a real `textline serve`: a sign-in flood from rotating addresses and one
user trying 1,000 live streams, while texts arrive on the webhook. The webhook that takes the 999
texts keeps its p95 far below the 15 s Twilio waits."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

from bench.harness import Connection, percentile, sign_in
from tests.security.rawhttp import WEBHOOK_P95_UNDER_ATTACK, textline_serve
from tests.security.test_live_streams import WEBHOOK, Stream, _signed_text
from tests.security.test_login_flood import _flood, _login_form
from tests.serverproc import PASSWORD, operator_token
from tests.sms.fake_twilio import fake_twilio  # noqa: F401


def test_a_sign_in_flood_and_1000_streams_together_leave_the_webhook_fast(
        database_url, fake_twilio, tmp_path):  # noqa: F811
    operator_token(database_url, "oscar")
    with textline_serve(database_url, fake_twilio, tmp_path / "server.log",
                        TEXTLINE_TRUSTED_PROXIES="127.0.0.1") as (port, _pid):
        cookie = sign_in(port, "oscar", PASSWORD)
        form_cookie, token = _login_form(port)
        stop, outcomes = threading.Event(), Counter[int]()
        flood = threading.Thread(target=_flood, args=(port, form_cookie, token, stop, outcomes))
        flood.start()

        async def run() -> tuple[list[int], list[float], list[int]]:
            attempts: list[Stream] = []
            statuses: list[int] = []
            latencies: list[float] = []
            answers: list[int] = []
            done = asyncio.Event()

            async def texts() -> None:
                conn, i = Connection(port), 0
                while not done.is_set():
                    form, headers = _signed_text(port, i)
                    began = time.perf_counter()
                    status, _ = await conn.post_form(WEBHOOK, form, headers)
                    latencies.append(time.perf_counter() - began)
                    answers.append(status)
                    i += 1
                    await asyncio.sleep(0.02)
                await conn.close()

            async def streams() -> None:
                todo = iter(range(1000))

                async def worker() -> None:
                    for _ in todo:
                        stream = Stream(port, cookie)
                        attempts.append(stream)
                        statuses.append(await stream.open())

                await asyncio.gather(*(worker() for _ in range(25)))

            await asyncio.sleep(0.5)  # the flood at full strength first
            sender = asyncio.create_task(texts())
            await streams()
            await asyncio.sleep(2)
            for stream in attempts:
                await stream.close()
            done.set()
            await sender
            return statuses, latencies, answers

        try:
            statuses, latencies, answers = asyncio.run(run())
        finally:
            stop.set()
            flood.join(30)
    latencies.sort()
    p95 = percentile(latencies, 95)
    print(f"\nwebhook under a sign-in flood and 1,000 stream attempts: {len(latencies)} texts, "
          f"p50 {percentile(latencies, 50) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms; "
          f"streams opened {statuses.count(200)}; sign-in answers {dict(outcomes)}")
    assert not flood.is_alive()
    assert sum(outcomes.values()) > 40, "the flood never got going"
    assert set(outcomes) <= {401, 429}, outcomes
    assert statuses.count(200) == 8 and statuses.count(429) == 992
    assert set(answers) == {200}
    assert p95 < WEBHOOK_P95_UNDER_ATTACK, f"webhook p95 {p95:.2f}s under a sign-in flood and 1,000 streams"
