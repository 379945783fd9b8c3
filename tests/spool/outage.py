"""A database outage under load, as an operator would see it: texters texting steadily at a real
`textline serve` on PostgreSQL while the database is stopped (or killed) and started again.

Four senders, 48 phones, about 20 texts a second, each request on a new connection (so that
with several workers every worker takes its share). Half the phones text from the start; the
other half text for the first time during the outage: their conversations begin in the spool,
and the time from the database's return to each one's first answer from the bot is measured.
A text answered anything but 200 is refused: Twilio does not retry a failed inbound webhook.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from app.sms.signature import sign
from bench.harness import PYTHON, REPO, stop, wait_ready
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.sms.fake_twilio import FakeTwilio

PATH = "/webhooks/twilio/sms"
SENDERS, PHONES_PER_SENDER = 4, 12
GAP = 0.2  # seconds between one sender's texts: 4 senders, 20 texts a second


def phone(sender: int, n: int) -> str:
    return f"+4477008{sender:02d}{n:03d}"


class Sender(threading.Thread):
    def __init__(self, n: int, port: int, run: str) -> None:
        super().__init__(daemon=True, name=f"sender-{n}")
        self.n, self.port, self.run_id = n, port, run
        self.wide = threading.Event()  # set when the outage begins: the other phones start
        self.halt = threading.Event()
        self.sent: list[tuple[str, str, int, float]] = []  # sid, phone, status, when answered
        self.slowest = 0.0  # the longest a webhook waited for its answer, in seconds

    def run(self) -> None:
        url = f"http://127.0.0.1:{self.port}{PATH}"
        # A new connection each time: a kept-alive one stays with one worker.
        with httpx.Client(timeout=15, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            i = 0
            while not self.halt.is_set():
                began = time.monotonic()
                count = PHONES_PER_SENDER if self.wide.is_set() else PHONES_PER_SENDER // 2
                who = phone(self.n, i % count)
                form = {"MessageSid": f"SM{self.run_id}{self.n:02d}{i:06d}".ljust(34, "d"),
                        "AccountSid": TEST_ACCOUNT_SID, "From": who, "To": "61016",
                        "NumMedia": "0", "Body": f"man shouting at people on the train {i}"}
                try:
                    resp = client.post(url, data=form, headers={
                        "X-Twilio-Signature": sign(TEST_AUTH_TOKEN, url, form)})
                    status = resp.status_code
                except httpx.HTTPError:
                    status = 0
                answered = time.monotonic()
                self.sent.append((form["MessageSid"], who, status, answered))
                self.slowest = max(self.slowest, answered - began)
                i += 1
                self.halt.wait(max(0.0, GAP - (time.monotonic() - began)))


class Answers(threading.Thread):
    """When each phone's first text from the service reached the fake Twilio (polled)."""

    def __init__(self, fake: FakeTwilio) -> None:
        super().__init__(daemon=True, name="answers")
        self.fake, self.first = fake, {}
        self.halt = threading.Event()

    def run(self) -> None:
        seen = 0
        while not self.halt.wait(0.01):
            new = self.fake.messages[seen:]
            seen += len(new)
            now = time.monotonic()
            for msg in new:
                self.first.setdefault(msg.to, now)


@dataclass
class Figures:
    sent: int = 0
    refused: int = 0
    lost: int = 0
    duplicated: int = 0
    during_outage: int = 0
    slowest: float = 0.0
    answer_seconds: dict[str, float] = field(default_factory=dict)  # spooled conversations

    def line(self) -> str:
        worst = max(self.answer_seconds.values(), default=float("nan"))
        return (f"sent {self.sent}, during the outage {self.during_outage}, refused "
                f"{self.refused}, lost {self.lost}, duplicated {self.duplicated}, slowest "
                f"webhook {self.slowest:.2f} s; first answers "
                f"of {len(self.answer_seconds)} spooled conversations within {worst:.2f} s of "
                "the database's return")


@contextmanager
def serving(port: int, env: dict[str, str], log: Path, *, workers: int = 1,
            cwd: Path = REPO) -> Iterator[subprocess.Popen[bytes]]:
    argv = [PYTHON, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers)]
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, env={**os.environ, **env}, cwd=cwd, stdout=out,
                                stderr=out, start_new_session=True)
        try:
            wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
            yield proc
        finally:
            stop(proc)


def outage(port: int, fake: FakeTwilio, url: str, *, down: Callable[[], None],
           up: Callable[[], None], seconds: float = 5.0, run_id: str = "a",
           during: Callable[[], None] | None = None, settle: float = 30.0) -> Figures:
    """Load for 2 s, `down()` for `seconds` (calling `during()` in the middle), `up()`, load 3 s
    more; then wait (up to `settle`) for every acknowledged text to be read, and count."""
    senders = [Sender(n, port, run_id) for n in range(SENDERS)]
    answers = Answers(fake)
    answers.start()
    for s in senders:
        s.start()
    time.sleep(2.0)
    went = time.monotonic()
    for s in senders:
        s.wide.set()
    down()
    time.sleep(seconds / 2)
    if during is not None:
        during()
    time.sleep(max(0.0, went + seconds - time.monotonic()))
    up()
    back = time.monotonic()
    time.sleep(3.0)
    for s in senders:
        s.halt.set()
    for s in senders:
        s.join(20)
    sent = [t for s in senders for t in s.sent]
    acked = {sid for sid, _, status, _ in sent if status == 200}
    figures = Figures(sent=len(sent), refused=sum(1 for t in sent if t[2] != 200),
                      during_outage=sum(1 for t in sent if went <= t[3] <= back),
                      slowest=max(s.slowest for s in senders))
    engine = create_engine(url)
    deadline = time.monotonic() + settle
    stored: dict[str, int] = {}
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            stored = dict(conn.execute(text(
                "SELECT provider_sid, count(*) FROM messages WHERE direction = 'inbound' "
                "GROUP BY provider_sid")).all())
        if acked <= stored.keys():
            break
        time.sleep(0.2)
    engine.dispose()
    figures.lost = len(acked - stored.keys())
    figures.duplicated = sum(n - 1 for n in stored.values() if n > 1)
    # Conversations whose first text was answered 200 during the outage.
    first_text: dict[str, float] = {}
    for _, who, status, when in sorted(sent, key=lambda t: t[3]):
        if status == 200:
            first_text.setdefault(who, when)
    time.sleep(1.0)
    answers.halt.set()
    answers.join(5)
    for who, when in first_text.items():
        if went <= when <= back:
            first = answers.first.get(who)
            figures.answer_seconds[who] = float("inf") if first is None else first - back
    return figures
