"""First answers: from each new passenger's webhook 200 to the moment the SMS provider accepted
the first reply (the reference and the "call 999" advice).

    .venv/bin/python bench/bench_answers.py [--passengers 1000] [--connections 16]
                                            [--only console twilio postgres] [--delay 0.15]
                                            [--code DIR] [--postgres URL]

Starts a real `textline serve` (one process, SQLite) and, where PostgreSQL is reachable,
`textline serve` plus two `textline worker` processes on one fresh schema; sends one first text
from each of --passengers new numbers over --connections keep-alive connections, all at once;
waits until every number has had its first answer, and prints p50/p95/p99 of the time to it and
the answers per second, for:

  console   SQLite, the console provider (accepts at once, sends nothing);
  twilio    SQLite, the twilio client against a local fake Twilio taking --delay s per send;
  postgres  PostgreSQL, serve + 2 workers, the twilio client against the same fake;
  sending   the sending side alone: as "twilio", but instead of the burst of texts the script
            queues one reply to each of --passengers new numbers in one transaction (as a reader
            that had read them all at once would), and times each from that commit; the server's
            senders find the rows by polling (they are not in its process to wake), so up to
            0.5 s of each figure is the poll.

When the provider "accepted" the answer:
  fake Twilio: the wall-clock time the fake stored the message, after its --delay, just before
    its 201 left (the fake runs in this process; one clock for both ends);
  console: the message row's status_at, which the sender stamps when it stores the console's
    answer: a little after the console accepted it, never before.
The time is split at the outbox row's claimed_at (the sender took the reply): before it, the
text is read (inbox, conversation, reply queued) and waits for a sender; after it, the send.

Then it checks that every reply was sent exactly once: every outbox row done, each text
accepted once by the fake (its per-number record) or logged once by the console, every stored
SID the provider's. --code runs another tree's server (a checkout of an earlier commit, say)
with the same client, for a before/after comparison on one machine in one minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_load import PG_DEFAULT, drop_schema, pg_schema_url
from bench.harness import (
    PYTHON,
    REPO,
    Pipe,
    fast_loop,
    form_request,
    free_port,
    percentile,
    stop,
    wait_ready,
)
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.sms.fake_twilio import FakeMessage, FakeServer, FakeTwilio, _handler

PATH = "/webhooks/twilio/sms"
FIRST_TEXTS = ("there is a man with a knife on the train", "someone is being sick on the floor",
               "a man is following a woman off the train", "two lads fighting on the platform")


class TimedFake(FakeTwilio):
    """The fake Twilio, noting when it accepted each message (wall clock, seconds)."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted_at: dict[str, float] = {}  # sid -> time.time()

    def accept(self, form: dict[str, str]) -> FakeMessage:
        msg = super().accept(form)
        self.accepted_at[msg.sid] = time.time()
        return msg


@contextmanager
def fake_twilio(delay: float) -> Any:
    fake = TimedFake()
    fake.answer_delay = delay
    server = FakeServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def env_for(url: str, port: int, code: Path, fake: FakeTwilio | None) -> dict[str, str]:
    env = {"TEXTLINE_DATABASE_URL": url, "TEXTLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "TEXTLINE_TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
           "TEXTLINE_TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID,
           "TEXTLINE_SECRET_KEY": "bench-secret-key-0123456789abcdef",
           "TEXTLINE_LOG_LEVEL": "INFO", "PYTHONPATH": str(code)}
    if fake is None:
        env["TEXTLINE_SMS_PROVIDER"] = "console"
    else:
        env.update(TEXTLINE_SMS_PROVIDER="twilio", TEXTLINE_TWILIO_API_BASE=fake.url,
                   TEXTLINE_TWILIO_FROM="61016")
    return env


def spawn(argv: list[str], env: dict[str, str], code: Path, log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")
    return subprocess.Popen(argv, env={**os.environ, **env}, cwd=code, stdout=out, stderr=out,
                            start_new_session=True)


def first_texts(port: int, count: int, tag: str) -> list[tuple[str, bytes]]:
    from app.sms.signature import sign

    out = []
    for i in range(count):
        phone = f"+447{tag}{i:07d}"
        sid = f"SM{tag}{i:06d}" + "0" * (32 - 2 - len(tag) - 6)
        form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": TEST_ACCOUNT_SID, "From": phone,
                "To": "61016", "Body": FIRST_TEXTS[i % len(FIRST_TEXTS)], "NumMedia": "0"}
        sig = sign(TEST_AUTH_TOKEN, f"http://127.0.0.1:{port}{PATH}", form)
        out.append((phone, form_request(port, PATH, form, {"X-Twilio-Signature": sig})))
    return out


async def burst(port: int, texts: list[tuple[str, bytes]], connections: int
                ) -> tuple[dict[str, float], int, float]:
    """Every text once, `connections` at a time; the wall-clock time of each 200, by number."""
    queue = list(reversed(texts))
    acked: dict[str, float] = {}
    errors = 0

    async def one() -> None:
        nonlocal errors
        pipe = await Pipe.open(port)
        try:
            while queue:
                phone, raw = queue.pop()
                if pipe.lost is not None:
                    pipe = await Pipe.open(port)
                try:
                    status = await pipe.send(raw)
                except OSError:
                    errors += 1
                    pipe = await Pipe.open(port)
                    continue
                if status == 200:
                    acked[phone] = time.time()
                else:
                    errors += 1
        finally:
            pipe.close()

    began = time.time()
    await asyncio.gather(*(one() for _ in range(connections)))
    return acked, errors, began


def first_answers(url: str, phones: set[str], fake: TimedFake | None
                  ) -> dict[str, tuple[float, float]]:
    """Number -> (claimed, accepted) of its first answer the provider accepted so far."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT r.phone, m.id, m.provider_sid, m.status_at, o.claimed_at FROM messages m "
            "JOIN cases c ON c.id = m.case_id JOIN reporters r ON r.id = c.reporter_id "
            "JOIN outbox o ON o.message_id = m.id "
            "WHERE m.direction = 'outbound' AND o.state = 'done' ORDER BY m.id")).all()
    engine.dispose()
    found: dict[str, tuple[float, float]] = {}
    for phone, _mid, sid, status_at, claimed_at in rows:
        if phone not in phones or phone in found:
            continue
        if fake is not None:
            accepted = fake.accepted_at.get(sid)
            if accepted is None:
                continue
        else:
            accepted = _epoch(status_at)
        found[phone] = (_epoch(claimed_at), accepted)
    return found


def queue_replies(url: str, count: int) -> dict[str, float]:
    """The sending side alone: `count` replies to new numbers queued in one transaction, as a
    reader that had read `count` first texts at once would; each number's time is the commit's."""
    from datetime import timedelta

    from app.cases.service import find_or_open_case, lock_reporter
    from app.kit.db import make_engine, make_sessionmaker, unit_of_work, utcnow
    from app.models import Message
    from app.sms.outbox import enqueue_sms

    engine = make_engine(url)
    now = utcnow()
    phones = [f"+4479200{i:05d}" for i in range(count)]
    with unit_of_work(make_sessionmaker(engine)) as session:
        for phone in phones:
            reporter = lock_reporter(session, phone, now)
            case, _, _ = find_or_open_case(session, reporter, now, reopen_within=timedelta(0),
                                           tz=UTC)
            message = Message(case_id=case.id, direction="outbound", author="bot",
                              body=f"Your reference is TL{case.id}. If you are in danger, "
                                   "call 999.", status="new", created_at=now)
            session.add(message)
            session.flush()
            enqueue_sms(session, message, phone, now=now)
    committed = time.time()
    engine.dispose()
    return dict.fromkeys(phones, committed)


def _epoch(value: Any) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def check_once(url: str, fake: TimedFake | None, logs: list[Path]) -> str:
    """Every outbound row done, and each text accepted by the provider exactly once."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        states = dict(conn.execute(text(
            "SELECT state, count(*) FROM outbox GROUP BY state")).all())
        sids = conn.execute(text(
            "SELECT provider_sid FROM messages WHERE direction = 'outbound'")).scalars().all()
    engine.dispose()
    if fake is not None:
        sent = Counter((m.to, m.body) for m in fake.messages)
        provider_sids = [m.sid for m in fake.messages]
    else:
        provider_sids = []
        for log in logs:
            for line in log.read_text(errors="replace").splitlines():
                if "console text (not sent)" in line:
                    try:
                        provider_sids.append(json.loads(line)["sid"])
                    except (ValueError, KeyError):
                        pass
        sent = Counter(provider_sids)
    twice = sum(1 for n in sent.values() if n > 1)
    missing = [s for s in sids if s is None or s not in set(provider_sids)]
    extra = set(provider_sids) - set(sids)
    verdict = "ok" if not twice and not missing and not extra and set(states) == {"done"} \
        else "FAILED"
    return (f"{verdict}: outbox {dict(states)}; {len(provider_sids)} texts at the provider, "
            f"{twice} sent twice, {len(missing)} stored without a provider SID, "
            f"{len(extra)} sent but not stored")


def run(label: str, args: argparse.Namespace, kind: str, workdir: Path) -> dict[str, Any]:
    port = free_port()
    schema = None
    if kind == "postgres":
        schema, url = pg_schema_url(args.postgres)
    else:
        url = f"sqlite:///{workdir / f'{kind}.db'}"
    code = args.code
    logs = [workdir / f"{kind}-serve.log"]
    try:
        with ExitStack() as stack:
            fake = stack.enter_context(fake_twilio(args.delay)) if kind != "console" else None
            env = env_for(url, port, code, fake)
            procs = [spawn([PYTHON, "-m", "app", "serve", "--host", "127.0.0.1", "--port",
                            str(port)], env, code, logs[0])]
            stack.callback(lambda: [stop(p) for p in procs])
            wait_ready(f"http://127.0.0.1:{port}/healthz", procs[0])
            if kind == "postgres":
                for n in range(2):
                    logs.append(workdir / f"{kind}-worker{n}.log")
                    procs.append(spawn([PYTHON, "-m", "app", "worker"], env, code, logs[-1]))
                time.sleep(3.0)  # the workers connect and start their loops
            warm = first_texts(port, 20, "90")
            asyncio.run(burst(port, warm, 4))
            wait_for(url, {p for p, _ in warm}, fake, 60)
            if kind == "sending":
                acked, errors, began = queue_replies(url, args.passengers), 0, time.time()
            else:
                texts = first_texts(port, args.passengers, "91")
                acked, errors, began = asyncio.run(burst(port, texts, args.connections))
            webhooks_done = time.time()
            answers = wait_for(url, set(acked), fake, args.timeout)
            checks = check_once(url, fake, logs)
    finally:
        if schema is not None:
            drop_schema(args.postgres, schema)
    waits = sorted(answers[p][1] - acked[p] for p in acked if p in answers)
    reading = sorted(answers[p][0] - acked[p] for p in acked if p in answers)
    sending = sorted(answers[p][1] - answers[p][0] for p in acked if p in answers)
    last = max((a for _, a in answers.values()), default=began)
    return {"label": label, "acked": len(acked), "errors": errors,
            "answered": len(waits), "webhook_s": webhooks_done - began,
            "p50": percentile(waits, 50), "p95": percentile(waits, 95),
            "p99": percentile(waits, 99), "rate": len(waits) / max(1e-9, last - began),
            "read_p50": percentile(reading, 50), "read_p99": percentile(reading, 99),
            "send_p50": percentile(sending, 50), "send_p99": percentile(sending, 99),
            "check": checks}


def wait_for(url: str, phones: set[str], fake: TimedFake | None, timeout: float
             ) -> dict[str, tuple[float, float]]:
    deadline = time.monotonic() + timeout
    while True:
        found = first_answers(url, phones, fake)
        if len(found) >= len(phones) or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--passengers", type=int, default=1000)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--delay", type=float, default=0.15, help="fake Twilio's seconds per send")
    p.add_argument("--only", nargs="+", choices=["console", "twilio", "postgres", "sending"],
                   default=["console", "twilio", "postgres", "sending"])
    p.add_argument("--code", type=Path, default=REPO, help="the tree whose server to run")
    p.add_argument("--postgres", default=PG_DEFAULT)
    p.add_argument("--timeout", type=float, default=300.0)
    args = p.parse_args()
    fast_loop()
    names = {"console": "SQLite, console", "twilio": f"SQLite, twilio {args.delay * 1000:.0f} ms",
             "postgres": f"PostgreSQL 1+2, twilio {args.delay * 1000:.0f} ms",
             "sending": f"SQLite, sending only {args.delay * 1000:.0f} ms"}
    print(f"{args.passengers} new passengers at {args.connections} connections, "
          f"{os.cpu_count()} cores, server code {args.code}")
    print(f"{'target':<28}{'webhooks s':>11}{'answered':>9}{'p50 s':>7}{'p95 s':>7}"
          f"{'p99 s':>7}{'ans/s':>7}{'read p50/p99':>14}{'send p50/p99':>14}")
    workdir = Path(tempfile.mkdtemp(prefix="textline-answers-"))
    failed = False
    try:
        for kind in args.only:
            try:
                r = run(names[kind], args, kind, workdir)
            except Exception as exc:  # PostgreSQL not reachable, say: report and go on
                print(f"{names[kind]:<28} skipped: {type(exc).__name__}: {exc}")
                continue
            print(f"{r['label']:<28}{r['webhook_s']:>11.1f}{r['answered']:>9}{r['p50']:>7.2f}"
                  f"{r['p95']:>7.2f}{r['p99']:>7.2f}{r['rate']:>7.0f}"
                  f"{r['read_p50']:>7.2f}/{r['read_p99']:<6.2f}"
                  f"{r['send_p50']:>7.2f}/{r['send_p99']:<6.2f}", flush=True)
            what = "replies queued" if kind == "sending" else "webhooks answered 200"
            print(f"  {r['acked']} {what} ({r['errors']} errors); "
                  f"exactly once: {r['check']}", flush=True)
            failed |= "FAILED" in r["check"] or r["answered"] < r["acked"]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
