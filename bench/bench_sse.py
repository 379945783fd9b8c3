"""From a webhook's 200 to the event on a connected dashboard's stream (GET /events).

    .venv/bin/python bench/bench_sse.py [--conversations 300] [--connections 8] [--rate 40]
                                        [--postgres URL | --no-postgres]

Serves Textline (SQLite, one process; then PostgreSQL with two workers, where the stream sits
on one worker and half the texts land on the other, so their events cross by LISTEN/NOTIFY),
signs a dashboard in, keeps its event stream open, and sends four-text conversations through
the webhook at a steady rate (40 texts a second by default: thousands of times 61016's busiest
hour; a burst far beyond what the processor reads is bench_load.py's subject, which reports how
far reading falls behind). Each acknowledged text should bring one event when it is read (case.opened for
the first, message.new after, each carrying the text's MessageSid); the delay is taken from the
moment the client read the 200 to the moment it read the event (0 when the event came first), so
it includes the text's wait in the inbox. Target: p99 under 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.bench_load import (
    PATH,
    PG_DEFAULT,
    drop_schema,
    pg_schema_url,
    signed,
    textline_env,
)
from bench.conversations import Text, conversations
from bench.harness import (
    BENCH_PASSWORD,
    Connection,
    free_port,
    percentile,
    serving,
    sign_in,
    textline_argv,
)

PASSWORD = BENCH_PASSWORD
WANTED = ("case.opened", "message.new")


def add_operator(url: str) -> None:
    from app.auth.service import create_user
    from app.kit import migrate
    from app.kit.db import make_engine, make_sessionmaker, unit_of_work

    migrate.upgrade(url)
    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        create_user(session, "bench", "operator", PASSWORD, actor="bench")
    engine.dispose()


class Matcher:
    """Pairs each acknowledged text with the event of its reading, by MessageSid."""

    def __init__(self) -> None:
        self.acks: dict[str, float] = {}
        self.events: dict[str, float] = {}
        self.delays: list[float] = []
        self.early = 0

    def ack(self, sid: str, at: float) -> None:
        if sid in self.events:
            self.events.pop(sid)
            self.early += 1
            self.delays.append(0.0)
        else:
            self.acks[sid] = at

    def event(self, sid: str, at: float) -> None:
        if sid in self.acks:
            self.delays.append((at - self.acks.pop(sid)) * 1000)
        else:
            self.events[sid] = at

    def missing(self) -> int:
        return len(self.acks)


async def stream(port: int, cookie: str, matcher: Matcher, ready: asyncio.Event,
                 stop: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
                  "Accept: text/event-stream\r\n\r\n").encode())
    try:
        while not stop.is_set():
            try:
                line = await asyncio.wait_for(reader.readline(), 0.5)
            except TimeoutError:
                continue
            if not line:
                break
            text = line.decode().strip()
            if text.startswith(": connected"):
                ready.set()
            elif text.startswith("data: "):
                doc = json.loads(text[6:])
                if doc["kind"] in WANTED and doc.get("sid"):
                    matcher.event(doc["sid"], time.perf_counter())
    finally:
        writer.close()


async def drive(port: int, cookie: str, convs: list[list[Text]], connections: int,
                rate: float) -> Matcher:
    """Texts at a steady `rate` a second (open loop): each conversation's texts in order, the
    next one after every other conversation has sent its current one."""
    matcher = Matcher()
    ready, stop = asyncio.Event(), asyncio.Event()
    reader = asyncio.create_task(stream(port, cookie, matcher, ready, stop))
    await asyncio.wait_for(ready.wait(), 10)
    texts = [conv[j] for j in range(max(map(len, convs))) for conv in convs if j < len(conv)]
    schedule = deque((i / rate, text) for i, text in enumerate(texts))
    start = time.perf_counter()

    async def one_connection() -> None:
        conn = Connection(port)
        while schedule:
            due, text = schedule.popleft()
            wait = start + due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            form, headers = signed(port, text)
            status, _ = await conn.post_form(PATH, form, headers)
            if status == 200:
                matcher.ack(text.sid, time.perf_counter())
        await conn.close()

    await asyncio.gather(*(one_connection() for _ in range(connections)))
    deadline = time.perf_counter() + 5
    while matcher.missing() and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await reader
    return matcher


def run(name: str, url: str, workers: int, args: argparse.Namespace, run_no: int) -> str:
    add_operator(url)
    port = free_port()
    log = Path(tempfile.gettempdir()) / "textline-bench-sse.log"
    with serving(textline_argv(port, workers), textline_env(url, port), port, log=log):
        cookie = sign_in(port)
        convs = list(conversations(args.conversations, run_no))
        matcher = asyncio.run(drive(port, cookie, convs, args.connections, args.rate))
    delays = sorted(matcher.delays)
    p99 = percentile(delays, 99)
    verdict = "ok" if p99 < 500 and not matcher.missing() else "OVER TARGET"
    return (f"{name:<28} events {len(delays):>5}  p50 {percentile(delays, 50):6.1f} ms  "
            f"p99 {p99:6.1f} ms  max {delays[-1] if delays else float('nan'):6.1f} ms  "
            f"before the 200: {matcher.early}  missing: {matcher.missing()}  {verdict}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--conversations", type=int, default=300)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--rate", type=float, default=40.0, help="texts a second, steady")
    p.add_argument("--postgres", default=PG_DEFAULT)
    p.add_argument("--no-postgres", action="store_true")
    args = p.parse_args()
    lines = []
    with tempfile.TemporaryDirectory(prefix="textline-bench-sse-") as workdir:
        lines.append(run("SQLite (1 process)", f"sqlite:///{workdir}/sse.db", 1, args, 7))
    if not args.no_postgres:
        try:
            schema, url = pg_schema_url(args.postgres)
        except Exception as exc:
            lines.append(f"PostgreSQL: skipped ({type(exc).__name__})")
        else:
            try:
                lines.append(run("PostgreSQL (2 workers)", url, 2, args, 8))
            finally:
                drop_schema(args.postgres, schema)
    print(f"webhook 200 -> dashboard event, {args.conversations} conversations x 4 texts at "
          f"{args.rate:g} texts/s over {args.connections} connections")
    print("\n".join(lines))
    return 0 if all(line.endswith("ok") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
