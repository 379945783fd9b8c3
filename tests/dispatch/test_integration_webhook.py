"""The outbound integration webhook: signed JSON, retried with backoff, delivered once, 4xx fails."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.cases.service import find_or_open_case, lock_reporter
from app.dispatch.handlers import integration_payload, on_decision
from app.kit.config import Settings
from app.kit.db import unit_of_work, utcnow
from app.models import AuditEvent, Outbox
from app.sms.integration import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    IntegrationSender,
    encode_body,
    signature,
    signature_valid,
)
from app.sms.providers import ConsoleProvider
from app.sms.worker import drain_once
from tests.sms.fake_twilio import make_runtime

SECRET = "integration-secret-0123456789abcdef"
CASE_JSON = {"id": 1, "reference": "TL-261128-0001", "priority": "P1", "note": "caf\u00e9 \u2014 ok"}
DECISION = {"decision": "999", "queue": "emergency", "by": "dispatcher",
            "reasons": ["happening now", "weapon: 'knife'"], "at": "2026-11-28T14:03:11Z"}


class Receiver:
    """A CAD-like endpoint: answers from a script (status codes, or "hang"), records requests."""

    def __init__(self) -> None:
        self.answers: deque[int | str] = deque()
        self.requests: list[tuple[dict[str, str], bytes, int | str]] = []
        self.url = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            answer = rec.answers.popleft() if rec.answers else 200
            rec.requests.append(({k.lower(): v for k, v in self.headers.items()}, body, answer))
            if answer == "hang":
                time.sleep(1.5)
                answer = 200
            try:
                self.send_response(int(answer))
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/cad/incidents"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture
def rt(settings_kwargs, receiver):
    settings = Settings(**{**settings_kwargs, "integration_url": receiver.url,
                           "integration_secret": SECRET})
    runtime = make_runtime(settings)
    yield runtime
    runtime.engine.dispose()


def decide_case(rt) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    now = utcnow()
    with unit_of_work(rt.sessions) as s:
        reporter = lock_reporter(s, "+447700900123", now)
        case, _, _ = find_or_open_case(s, reporter, now, reopen_within=timedelta(0), tz=None)
        on_decision(s, rt.settings, case.id, CASE_JSON, DECISION)
        row = s.execute(select(Outbox).where(Outbox.kind == "integration")).scalar_one()
        return case.id, row.id


def drain(rt, now, sender=None) -> int:  # type: ignore[no-untyped-def]
    return drain_once(rt, now=now, provider=ConsoleProvider(deque()),
                      integration=sender or IntegrationSender(rt.settings, timeout=0.5))


def test_payload_shape():
    assert integration_payload(CASE_JSON, DECISION) == {
        "event": "case.decision", "version": 1, "case": CASE_JSON, "decision": DECISION}


def test_fails_twice_then_delivered_once_signed(rt, receiver):
    receiver.answers.extend([500, 500])
    case_id, row_id = decide_case(rt)
    now = utcnow()
    for _ in range(3):
        assert drain(rt, now) == 1
        with rt.sessions() as s:
            row = s.get(Outbox, row_id)
        now = row.next_attempt_at
    assert row.state == "done" and row.attempts == 3
    assert [answer for _, _, answer in receiver.requests] == [500, 500, 200]
    bodies = {body for _, body, _ in receiver.requests}
    assert len(bodies) == 1  # the same bytes each time, so the same signature
    for headers, body, _ in receiver.requests:
        assert headers["content-type"] == "application/json"
        assert signature_valid(SECRET, body, headers[SIGNATURE_HEADER.lower()])
        assert headers[DELIVERY_HEADER.lower()] == str(row_id)
    body = bodies.pop()
    assert json.loads(body) == integration_payload(CASE_JSON, DECISION)
    assert body == encode_body(integration_payload(CASE_JSON, DECISION))
    assert drain(rt, now + timedelta(hours=1)) == 0
    with rt.sessions() as s:
        delivered = s.execute(select(AuditEvent).where(
            AuditEvent.action == "integration.delivered")).scalar_one()
    assert delivered.case_id == case_id and delivered.data["attempts"] == 3


def test_backoff_grows_between_failures(rt, receiver):
    receiver.answers.extend([503, 502, 500])
    _, row_id = decide_case(rt)
    now, delays = utcnow(), []
    for _ in range(3):
        drain(rt, now)
        with rt.sessions() as s:
            nxt = s.get(Outbox, row_id).next_attempt_at
        delays.append(nxt - now)
        now = nxt
    assert delays == sorted(delays) and delays[0] < delays[2]


def test_client_error_fails_without_retry(rt, receiver):
    receiver.answers.append(422)
    case_id, row_id = decide_case(rt)
    drain(rt, utcnow())
    with rt.sessions() as s:
        row = s.get(Outbox, row_id)
        failed = s.execute(select(AuditEvent).where(
            AuditEvent.action == "integration.failed")).scalar_one()
    assert row.state == "failed" and row.last_error == "integration answered HTTP 422"
    assert failed.case_id == case_id
    assert drain(rt, utcnow() + timedelta(hours=1)) == 0
    assert len(receiver.requests) == 1


def test_timeout_is_retried_with_the_same_delivery_id(rt, receiver):
    receiver.answers.append("hang")
    _, row_id = decide_case(rt)
    drain(rt, utcnow())
    with rt.sessions() as s:
        row = s.get(Outbox, row_id)
    assert row.state == "pending" and "no answer in time" in row.last_error
    drain(rt, row.next_attempt_at)
    with rt.sessions() as s:
        assert s.get(Outbox, row_id).state == "done"
    ids = {headers[DELIVERY_HEADER.lower()] for headers, _, _ in receiver.requests}
    assert ids == {str(row_id)}  # the receiver can tell the repeat and drop it


def test_no_integration_configured_no_row(settings):
    rt = make_runtime(settings)
    with unit_of_work(rt.sessions) as s:
        reporter = lock_reporter(s, "+447700900123", utcnow())
        case, _, _ = find_or_open_case(s, reporter, utcnow(), reopen_within=timedelta(0), tz=None)
        on_decision(s, rt.settings, case.id, CASE_JSON, DECISION)
    with rt.sessions() as s:
        assert s.execute(select(Outbox)).first() is None
    rt.engine.dispose()


def test_signature_is_hmac_of_exact_body():
    body = b'{"a":1}'
    sig = signature(SECRET, body)
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert signature_valid(SECRET, body, sig)
    assert not signature_valid(SECRET, body + b" ", sig)
    assert not signature_valid("another-secret-0123456789", body, sig)
    assert not signature_valid(SECRET, body, None)
