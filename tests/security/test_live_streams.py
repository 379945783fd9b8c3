"""Live streams (GET /events) cannot starve the webhook: one user holds at most
TEXTLINE_MAX_STREAMS_PER_USER of them (the next is 429), and presence costs a stream the same per
event however many streams are open."""

from __future__ import annotations

import asyncio
import time

from app.live.events import EventBus
from app.live.presence import Presence
from app.sms.signature import sign
from bench.harness import Connection, percentile, sign_in
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.security.rawhttp import WEBHOOK_P95_UNDER_ATTACK, cpu_seconds, textline_serve
from tests.serverproc import PASSWORD, operator_token
from tests.sms.fake_twilio import fake_twilio  # noqa: F401

WEBHOOK = "/webhooks/twilio/sms"


class Stream:
    """One raw GET /events?case=..., kept open (and read, as a browser would) while it lasts."""

    def __init__(self, port: int, cookie: str, case: int = 1) -> None:
        self.port, self.cookie, self.case = port, cookie, case
        self.status: int | None = None
        self.body = b""
        self.writer: asyncio.StreamWriter | None = None
        self.reader_task: asyncio.Task[None] | None = None

    async def open(self) -> int:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write((f"GET /events?case={self.case} HTTP/1.1\r\n"
                           f"Host: 127.0.0.1:{self.port}\r\nCookie: {self.cookie}\r\n"
                           "Accept: text/event-stream\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        self.status = int(head.split(b" ", 2)[1])
        if self.status == 200:
            self.reader_task = asyncio.create_task(self._drain(reader))
        else:
            self.body = await asyncio.wait_for(reader.read(4096), 10)
            await self.close()
        return self.status

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        while await reader.read(65536):
            pass

    async def close(self) -> None:
        if self.reader_task is not None:
            self.reader_task.cancel()
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _signed_text(port: int, i: int) -> tuple[dict[str, str], dict[str, str]]:
    form = {"MessageSid": f"SM{i:06d}{'c' * 26}", "AccountSid": TEST_ACCOUNT_SID,
            "From": f"+4477009{i % 1000:05d}", "To": "61016",
            "Body": "a man is shouting at people on platform 2 at leeds", "NumMedia": "0"}
    url = f"http://127.0.0.1:{port}{WEBHOOK}"
    return form, {"X-Twilio-Signature": sign(TEST_AUTH_TOKEN, url, form)}


def test_a_user_past_the_stream_cap_is_refused_until_one_closes(
        database_url, fake_twilio, tmp_path):  # noqa: F811
    operator_token(database_url, "oscar")
    operator_token(database_url, "petra")
    with textline_serve(database_url, fake_twilio, tmp_path / "server.log",
                        TEXTLINE_MAX_STREAMS_PER_USER="3") as (port, _pid):
        oscar, petra = sign_in(port, "oscar", PASSWORD), sign_in(port, "petra", PASSWORD)

        async def run() -> None:
            held = [Stream(port, oscar) for _ in range(3)]
            assert [await s.open() for s in held] == [200, 200, 200]
            fourth = Stream(port, oscar)
            assert await fourth.open() == 429
            assert b"too many live streams open: at most 3 per user" in fourth.body
            other = Stream(port, petra)
            assert await other.open() == 200, "the cap is each user's own"
            await held.pop().close()
            deadline = time.monotonic() + 10
            while await (again := Stream(port, oscar)).open() != 200:  # its place came back
                assert time.monotonic() < deadline, "a closed stream kept its place"
                await asyncio.sleep(0.1)
            for s in [*held, other, again]:
                await s.close()

        asyncio.run(run())


def test_the_webhook_stays_fast_while_one_user_tries_1000_streams(
        database_url, fake_twilio, tmp_path):  # noqa: F811
    operator_token(database_url, "oscar")
    with textline_serve(database_url, fake_twilio, tmp_path / "server.log") as (port, pid):
        cookie = sign_in(port, "oscar", PASSWORD)
        cpu_before = cpu_seconds(pid)

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

            # Texts all along: while the streams open, while they are held, and as they close.
            sender = asyncio.create_task(texts())
            await streams()
            await asyncio.sleep(2)
            for stream in attempts:
                await stream.close()
            await asyncio.sleep(1)
            done.set()
            await sender
            return statuses, latencies, answers

        statuses, latencies, answers = asyncio.run(run())
        cpu = cpu_seconds(pid) - cpu_before
    latencies.sort()
    p95 = percentile(latencies, 95)
    print(f"\nwebhook during 1,000 stream attempts ({statuses.count(200)} opened): "
          f"{len(latencies)} texts, p50 {percentile(latencies, 50) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms; server CPU {cpu:.1f} s")
    assert statuses.count(200) == 8 and statuses.count(429) == 992
    assert set(answers) == {200}
    assert p95 < WEBHOOK_P95_UNDER_ATTACK


def _tabs(presence: Presence, bus: EventBus, case: int, users: list[str], tabs: int) -> list:
    opened = []
    for _ in range(tabs):
        for user in users:
            opened.append(presence.join(case, user))
            presence.announce(bus, case, if_changed=True)  # as each stream does on opening
    return opened


def test_more_tabs_of_the_same_people_announce_nothing_more():
    for tabs in (1, 500):
        bus, presence = EventBus(), Presence(instance="here")
        seen: list = []
        bus.add_listener(seen.append)
        conns = _tabs(presence, bus, 7, ["amy", "bob"], tabs)
        assert presence.viewers(7) == ["amy", "bob"]
        for conn in conns:
            presence.leave(7, conn)
            presence.announce(bus, 7, if_changed=True)
        # amy arrives, bob arrives, amy goes, bob goes: the same four events for 1 tab or 500.
        said = [e.data["local"] for e in seen if e.kind == "case.viewing"]
        assert said == [["amy"], ["amy", "bob"], ["bob"], []], tabs
        assert presence.viewers(7) == [] and presence.snapshot() == {}


def test_a_streams_presence_lookup_costs_the_same_with_1000_tabs_open():
    def per_lookup(tabs: int) -> float:
        bus, presence = EventBus(), Presence(instance="here")
        _tabs(presence, bus, 7, ["amy", "bob"], tabs)
        best = float("inf")
        for _ in range(5):
            began = time.perf_counter()
            for _ in range(2000):  # what every open stream does for each case.viewing event
                presence.viewers(7)
            best = min(best, time.perf_counter() - began)
        return best

    few, many = per_lookup(1), per_lookup(1000)
    # Each lookup walked every open tab before: 1,000 tabs took hundreds of times as long.
    assert many < few * 5, (few, many)
