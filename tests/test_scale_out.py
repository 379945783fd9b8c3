"""Two `textline serve` processes on different ports sharing one PostgreSQL database.

Texts go to both in turn. A dashboard stream open on the first sees the cases opened on the
second (LISTEN/NOTIFY, app/live/events_pg.py). Operators' replies, posted to both, are drained by both
in-process workers through FOR UPDATE SKIP LOCKED: each reaches Twilio exactly once. An operator
with a case open on one instance is shown to a colleague with it open on the other.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from app.models import Case, Inbox, Message, Outbox, Reporter
from app.sms.signature import sign
from bench.harness import free_port, serving, textline_argv
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.serverproc import PASSWORD, operator_token, server_env, wait_until
from tests.sms.fake_twilio import fake_twilio  # noqa: F401

PHONES, REPLIES = 12, 24
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def text(client: httpx.Client, port: int, phone: str, sid: str, body: str) -> None:
    form = {"MessageSid": sid, "AccountSid": TEST_ACCOUNT_SID, "From": phone, "To": "61016",
            "Body": body, "NumMedia": "0"}
    url = f"http://127.0.0.1:{port}/webhooks/twilio/sms"
    resp = client.post(url, data=form, headers={"X-Twilio-Signature": sign(TEST_AUTH_TOKEN, url,
                                                                            form)})
    assert resp.status_code == 200, resp.text


class Stream(threading.Thread):
    """A signed-in dashboard's event stream: (kind, case_id) of each event, as it arrives. With
    `case`, a case page's stream, which marks its user as viewing that case while it is open."""

    def __init__(self, port: int, username: str, case: int | None = None) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.path = "/events" if case is None else f"/events?case={case}"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            page = client.get("/login")
            token = _CSRF.search(page.text)
            assert token, "no CSRF token on the login form"
            resp = client.post("/login", data={"username": username, "password": PASSWORD,
                                               "csrf_token": token.group(1), "next": "/"})
            assert resp.status_code == 303, resp.text
            self.cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.events: list[tuple[str, int | None]] = []
        self.viewing: list[tuple[int, list[str]]] = []  # (case, viewers) of each case.viewing
        self.connected = threading.Event()

    def run(self) -> None:
        request = (f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                   f"Cookie: {self.cookie}\r\nAccept: text/event-stream\r\n\r\n")
        try:
            self.sock.sendall(request.encode())
            for raw in self.sock.makefile("rb"):
                line = raw.decode().strip()
                if line.startswith(": connected"):
                    self.connected.set()
                elif line.startswith("data: "):
                    doc = json.loads(line[6:])
                    if doc["kind"] == "case.viewing":
                        self.viewing.append((doc["case_id"], doc["viewers"]))
                    self.events.append((doc["kind"], doc["case_id"]))
        except (OSError, ValueError):
            pass  # closed by close(), or the server went away

    def close(self) -> None:
        # An open stream would hold the server's graceful shutdown until it was killed.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.join(5)

    def opened(self) -> set[int]:
        return {case for kind, case in list(self.events) if kind == "case.opened"}

    def viewers(self, case: int) -> list[str] | None:
        """What the page would show now: the viewers of the last case.viewing for the case."""
        shown = [viewers for c, viewers in list(self.viewing) if c == case]
        return shown[-1] if shown else None


def count_lines(log: Path, what: str) -> int:
    return sum(1 for line in log.read_text().splitlines() if what in line)


def delivered(log: Path) -> int:
    return count_lines(log, "outbox delivered")


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_instances_share_events_and_outbox(database_url, fake_twilio, tmp_path):  # noqa: F811
    began = time.monotonic()
    token = operator_token(database_url)
    # Twilio takes 0.1 s a text here, so that neither worker, sending one at a time, can drain
    # the burst of replies alone before the other looks.
    answer = fake_twilio.next_answer

    def slow_answer() -> str:
        time.sleep(0.1)
        return answer()

    fake_twilio.next_answer = slow_answer  # type: ignore[method-assign]
    ports = [free_port(), free_port()]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    envs = [server_env(database_url, p, fake_twilio, TEXTLINE_LOG_LEVEL="INFO") for p in ports]
    with serving(textline_argv(ports[0]), envs[0], ports[0], log=logs[0]), \
            serving(textline_argv(ports[1]), envs[1], ports[1], log=logs[1]):
        stream = Stream(ports[0], "oscar")
        stream.start()
        assert stream.connected.wait(10), "the event stream did not open"

        phones = [f"+4477009550{i:02d}" for i in range(PHONES)]
        with httpx.Client(timeout=10) as client:
            for i, phone in enumerate(phones):  # first texts: to A, B, A, B ...
                text(client, ports[i % 2], phone, f"SM{i:04d}{'a' * 28}",
                     "someone is being followed at leeds station")
            for i, phone in enumerate(phones):  # second texts: the other way round
                text(client, ports[(i + 1) % 2], phone, f"SM{i:04d}{'b' * 28}", "platform 4")

        engine = create_engine(database_url)

        def read() -> bool:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(Inbox)).scalar_one() == 0

        wait_until(read, 20, "both processors to read the inbox")
        with engine.connect() as conn:
            case_of = dict(conn.execute(select(Reporter.phone, Case.id)
                                        .join(Case, Case.reporter_id == Reporter.id)).all())
        assert sorted(case_of) == sorted(phones), "one case per phone, whichever server it met"
        wait_until(lambda: set(case_of.values()) <= stream.opened(), 10,
                   "cases opened on B to reach A's stream")
        # ...and each exactly once: A neither lost B's events nor echoed its own.
        opened = Counter(case for kind, case in stream.events if kind == "case.opened")
        assert set(opened.values()) == {1} and set(opened) == set(case_of.values())

        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(timeout=10, headers=headers) as client:
            for i in range(REPLIES):
                case_id = case_of[phones[i % PHONES]]
                resp = client.post(f"http://127.0.0.1:{ports[i % 2]}/api/cases/{case_id}/messages",
                                   json={"body": f"Reply {i}: officers are on the way"})
                assert resp.status_code == 201, resp.text

        def drained() -> bool:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(Outbox)
                                    .where(Outbox.state != "done")).scalar_one() == 0

        wait_until(drained, 20, "both workers to drain the outbox")
        with engine.connect() as conn:
            stored_sids = conn.execute(select(Message.provider_sid)
                                       .where(Message.direction == "outbound")).scalars().all()
        engine.dispose()
        stream.close()

    sent = Counter(m.body for m in fake_twilio.messages)
    operator = [b for b in sent if b.startswith("Reply ")]
    assert len(operator) == REPLIES and {sent[b] for b in operator} == {1}, \
        "an operator's reply was lost or sent twice"
    sids = Counter(m.sid for m in fake_twilio.messages)
    assert set(sids.values()) == {1} and set(sids) == set(stored_sids)
    assert len(fake_twilio.messages) == len(stored_sids) > REPLIES  # the bot's replies too
    by_server = [delivered(log) for log in logs]
    assert sum(by_server) == len(stored_sids) and all(by_server), "both workers take their share"
    read_by = [count_lines(log, "text read") for log in logs]
    assert sum(read_by) == 2 * PHONES and all(read_by), "both processors read texts"
    print(f"\ntexts read by A and B: {read_by}; texts delivered by A and B: {by_server}; "
          f"{time.monotonic() - began:.1f}s")


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_an_operator_on_one_instance_sees_who_has_the_case_open_on_another(
        database_url, fake_twilio, tmp_path):  # noqa: F811
    for username in ("xavier", "yvonne"):
        operator_token(database_url, username)
    ports = [free_port(), free_port()]
    envs = [server_env(database_url, p, fake_twilio) for p in ports]
    with serving(textline_argv(ports[0]), envs[0], ports[0], log=tmp_path / "a.log"), \
            serving(textline_argv(ports[1]), envs[1], ports[1], log=tmp_path / "b.log"):
        yvonne = Stream(ports[1], "yvonne", case=7)  # on B
        yvonne.start()
        wait_until(lambda: yvonne.viewers(7) == ["yvonne"], 10, "B to announce yvonne")
        xavier = Stream(ports[0], "xavier", case=7)  # on A, which heard yvonne arrive
        xavier.start()
        # Each instance lists its own viewers first; neither waits for a heartbeat.
        wait_until(lambda: xavier.viewers(7) == ["xavier", "yvonne"], 10,
                   "A to show yvonne, viewing on B, to xavier")
        wait_until(lambda: yvonne.viewers(7) == ["yvonne", "xavier"], 10,
                   "B to show xavier, viewing on A, to yvonne")
        xavier.close()  # A's stream ends: A announces that it has nobody on case 7
        wait_until(lambda: yvonne.viewers(7) == ["yvonne"], 10,
                   "B to drop xavier once his page closed on A")
        assert all(case == 7 for case, _ in yvonne.viewing)
        yvonne.close()


def test_relay_payloads_round_trip_and_stay_under_the_notify_limit():
    from app.kit.events import Event
    from app.live.events_pg import MAX_PAYLOAD, channel_for, decode, encode

    event = Event("case.updated", 7, {"action": "claim"}, 1234.5)
    assert decode(encode(event, "host:1:ab")) == ("host:1:ab", event)
    big = Event("message.new", 8, {"blob": "x" * 20_000}, 1.0)
    payload = encode(big, "host:1:ab")
    assert len(payload.encode()) <= MAX_PAYLOAD
    assert decode(payload) == ("host:1:ab", Event("message.new", 8, {}, 1.0))
    assert decode("not json") is None and decode('{"k": "x"}') is None
    assert channel_for("T_Ab-9") == "textline_events_t_ab_9"
