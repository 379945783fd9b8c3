"""SIGKILL under load: a real `textline serve`, killed mid-load, restarted on the same database.

Several senders text at once while operators' replies queue in the outbox, and the fake Twilio
is made to accept one text and hang before answering, so the kill lands with a send in flight.
After the restart the senders retry every text that got no 200, as Twilio does. Then:
every acknowledged text is stored exactly once (and every retried one too), those still unread
in the inbox at the kill read after the restart; every reply, the bot's and those the API
acknowledged, reaches Twilio exactly once, the one in flight adopted rather than sent again.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select

from app.models import Inbox, Message, Outbox
from app.sms.signature import sign
from bench.bench_load import landed
from bench.harness import free_port, serving, stop, textline_argv
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.serverproc import operator_token, server_env, wait_until
from tests.sms.fake_twilio import fake_twilio  # noqa: F401

SENDERS, PHONES_PER_SENDER = 4, 3
PATH = "/webhooks/twilio/sms"


class Sender(threading.Thread):
    """One texter's phone: texts on until told to stop; keeps what got a 200 and what did not."""

    def __init__(self, n: int, port: int) -> None:
        super().__init__(daemon=True)
        self.n, self.port = n, port
        self.acked: list[str] = []
        self.unacked: list[dict[str, str]] = []
        self.halt = threading.Event()

    def post(self, client: httpx.Client, form: dict[str, str]) -> bool:
        sig = sign(TEST_AUTH_TOKEN, f"http://127.0.0.1:{self.port}{PATH}", form)
        try:
            resp = client.post(f"http://127.0.0.1:{self.port}{PATH}", data=form,
                               headers={"X-Twilio-Signature": sig})
        except httpx.HTTPError:
            return False
        return resp.status_code == 200

    def form(self, i: int) -> dict[str, str]:
        phone = f"+4477009{self.n:02d}{i % PHONES_PER_SENDER:03d}"
        return {"MessageSid": f"SM{self.n:02d}{i:06d}{'c' * 24}", "AccountSid": TEST_ACCOUNT_SID,
                "From": phone, "To": "61016", "NumMedia": "0",
                "Body": f"lad being followed at leeds station text {i}"}

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            i = PHONES_PER_SENDER  # the opening texts were sent before the load
            while not self.halt.is_set():
                form = self.form(i)
                if self.post(client, form):
                    self.acked.append(form["MessageSid"])
                else:
                    self.unacked.append(form)
                    time.sleep(0.05)
                i += 1

    def retry_unacked(self, deadline: float) -> None:
        """What Twilio does with a webhook that got no 200: the same request again."""
        with httpx.Client(timeout=10) as client:
            while self.unacked and time.monotonic() < deadline:
                if self.post(client, self.unacked[0]):
                    self.acked.append(self.unacked.pop(0)["MessageSid"])
                else:
                    time.sleep(0.1)


class Replier(threading.Thread):
    """An operator replying on the cases, each reply's words unique."""

    def __init__(self, port: int, token: str, case_ids: list[int]) -> None:
        super().__init__(daemon=True)
        self.port, self.case_ids = port, case_ids
        self.headers = {"Authorization": f"Bearer {token}"}
        self.acked: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            i = 0
            while not self.halt.is_set():
                body = f"Operator reply number {i}"
                try:
                    resp = client.post(
                        f"http://127.0.0.1:{self.port}/api/cases/"
                        f"{self.case_ids[i % len(self.case_ids)]}/messages",
                        json={"body": body}, headers=self.headers)
                    if resp.status_code == 201:
                        self.acked.append(body)
                except httpx.HTTPError:
                    time.sleep(0.05)
                i += 1
                time.sleep(0.02)


def test_sigkill_mid_load_loses_nothing_and_sends_nothing_twice(database_url, fake_twilio,  # noqa: F811
                                                                tmp_path: Path):
    began = time.monotonic()
    port = free_port()
    env = server_env(database_url, port, fake_twilio, TEXTLINE_OUTBOX_LEASE_SECONDS="5")
    token = operator_token(database_url)
    log = tmp_path / "server.log"
    fake_twilio.hang_seconds = 3.0

    senders = [Sender(n, port) for n in range(SENDERS)]
    with serving(textline_argv(port), env, port, log=log) as first:
        with httpx.Client(timeout=10) as client:
            for s in senders:
                for i in range(PHONES_PER_SENDER):
                    assert s.post(client, s.form(i))
                    s.acked.append(s.form(i)["MessageSid"])
            wait_until(lambda: len(client.get(
                f"http://127.0.0.1:{port}/api/cases?limit=100",
                headers={"Authorization": f"Bearer {token}"}).json()["items"]) == len(senders) *
                PHONES_PER_SENDER, 20, "the opening texts to be read")
            cases = client.get(f"http://127.0.0.1:{port}/api/cases?limit=100",
                               headers={"Authorization": f"Bearer {token}"}).json()["items"]
        # The bot's first replies go out; the fifth text Twilio takes after them hangs.
        wait_until(lambda: fake_twilio.posts >= len(cases), 20, "the first replies")
        hang_after = fake_twilio.posts + 5
        fake_twilio.script("ok", "ok", "ok", "ok", "hang-accept")
        replier = Replier(port, token, [c["id"] for c in cases])
        for s in senders:
            s.start()
        replier.start()
        # Kill while Twilio holds the fifth reply it took and has not answered (for 3 s), with
        # texts still coming in.
        wait_until(lambda: fake_twilio.posts >= hang_after, 20, "the hanging send")
        stop(first, signal.SIGKILL)
        killed_at = time.monotonic()
        acked_before_kill = sum(len(s.acked) for s in senders)
    assert acked_before_kill > SENDERS * PHONES_PER_SENDER

    time.sleep(0.3)  # the senders meet a dead server
    with serving(textline_argv(port), env, port, log=log):
        restarted = time.monotonic()
        time.sleep(0.5)
        for s in senders:
            s.halt.set()
        replier.halt.set()
        for t in [*senders, replier]:
            t.join(15)
        for s in senders:
            s.retry_unacked(time.monotonic() + 15)
            assert s.unacked == []

        engine = create_engine(database_url)

        def settled() -> bool:
            with engine.connect() as conn:
                unread = conn.execute(select(func.count()).select_from(Inbox)).scalar_one()
                unsent = conn.execute(select(func.count()).select_from(Outbox).where(
                    Outbox.state.in_(("pending", "sending")))).scalar_one()
                return unread == 0 and unsent == 0 and not landed(database_url)

        # Texts acknowledged before the kill and not yet read are read after the restart; the
        # row in flight at the kill waits out its 5-second lease, then is checked, not resent.
        wait_until(settled, 60, "the inbox and the outbox to drain after the restart")

    with engine.connect() as conn:
        inbound = Counter(conn.execute(select(Message.provider_sid).where(
            Message.direction == "inbound")).scalars())
        outbound = conn.execute(select(Message.author, Message.body, Message.provider_sid,
                                       Message.status).where(
            Message.direction == "outbound")).all()
        states = Counter(conn.execute(select(Outbox.state)).scalars())
    engine.dispose()

    acked = [sid for s in senders for sid in s.acked]
    assert len(acked) == len(set(acked))
    assert set(inbound) == set(acked), "an acknowledged text is missing, or an unknown one stored"
    assert set(inbound.values()) == {1}

    # Each operator reply's words are unique: each reached Twilio once.
    operator = [m.body for m in outbound if m.author.startswith("operator:")]
    assert set(replier.acked) <= set(operator), "an acknowledged reply was lost"
    sent = Counter(m.body for m in fake_twilio.messages)
    for body in operator:
        assert sent[body] == 1, f"{body!r} reached Twilio {sent[body]} times"
    # The bot's replies repeat their words across texters: match every text by its SID. Each
    # stored reply has the SID of exactly one of the texts Twilio took, and Twilio took no other.
    assert states == Counter({"done": len(outbound)})
    assert all(m.status == "sent" for m in outbound)
    stored_sids = Counter(m.provider_sid for m in outbound)
    assert set(stored_sids.values()) == {1}
    assert set(stored_sids) == {m.sid for m in fake_twilio.messages}
    assert len(fake_twilio.messages) == len(outbound)
    assert sum(m.author == "bot" for m in outbound) >= len(senders) * PHONES_PER_SENDER
    assert fake_twilio.lists >= 1, "the send in flight at the kill was never checked for"
    assert "adopting an earlier send" in log.read_text()
    print(f"\n{len(acked)} texts, {len(outbound)} replies; killed after {killed_at - began:.1f}s, "
          f"back {restarted - killed_at:.1f}s later; whole test {time.monotonic() - began:.1f}s")
