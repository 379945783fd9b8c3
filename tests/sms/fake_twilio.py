"""A small, real HTTP server imitating Twilio's Messages resource, for the twilio client to talk to.

POST /2010-04-01/Accounts/{sid}/Messages.json creates a message; GET on the same path lists
them, newest first, filtered by To. Each test scripts the answers to the next POSTs:
  fake.script("429", "500", "ok")      one answer per POST, then "ok" for the rest
  "ok" | "429" | "500" | "21610" | "30006" | "hang" | "hang-accept"
"hang" sleeps past the client's timeout and records nothing; "hang-accept" records the message
first (Twilio took it, the answer never arrived).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

ERRORS = {
    "429": (429, 20429, "Too Many Requests"),
    "500": (500, 20500, "Internal Server Error"),
    "21610": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "30006": (400, 30006, "Landline or unreachable carrier"),
}


@dataclass
class FakeMessage:
    sid: str
    to: str
    body: str
    from_: str | None
    messaging_service_sid: str | None
    status_callback: str | None
    created_at: datetime
    status: str = "queued"

    def resource(self) -> dict[str, object]:
        uri = f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages/{self.sid}.json"
        return {
            "account_sid": TEST_ACCOUNT_SID, "api_version": "2010-04-01", "body": self.body,
            "date_created": format_datetime(self.created_at), "date_sent": None,
            "date_updated": format_datetime(self.created_at), "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid, "num_media": "0",
            "num_segments": "1", "price": None, "price_unit": "GBP", "sid": self.sid,
            "status": self.status, "subresource_uris": {}, "to": self.to, "uri": uri,
        }


@dataclass
class FakeTwilio:
    url: str = ""
    hang_seconds: float = 2.0
    messages: list[FakeMessage] = field(default_factory=list)
    posts: int = 0  # every create request, accepted or not
    lists: int = 0
    answer_delay: float = 0.0  # seconds each create request takes, as a real API's round trip
    in_flight: int = 0
    most_in_flight: int = 0  # the most create requests ever handled at once
    # The same, for each number texted: a sender keeping one number's texts in order never
    # has two of them in flight.
    in_flight_to: dict[str, int] = field(default_factory=dict)
    most_in_flight_to: dict[str, int] = field(default_factory=dict)
    _script: deque[str] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *answers: str) -> None:
        with self._lock:
            self._script.extend(answers)

    def next_answer(self) -> str:
        with self._lock:
            self.posts += 1
            return self._script.popleft() if self._script else "ok"

    def accept(self, form: dict[str, str]) -> FakeMessage:
        msg = FakeMessage(sid="SM" + secrets.token_hex(16), to=form.get("To", ""),
                          body=form.get("Body", ""), from_=form.get("From"),
                          messaging_service_sid=form.get("MessagingServiceSid"),
                          status_callback=form.get("StatusCallback"),
                          created_at=datetime.now(UTC).replace(microsecond=0))
        with self._lock:
            self.messages.append(msg)
        return msg

    def sent_to(self, to: str) -> list[FakeMessage]:
        with self._lock:
            return [m for m in self.messages if m.to == to]

    def bodies(self) -> list[str]:
        with self._lock:
            return [m.body for m in self.messages]


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    expected_auth = "Basic " + base64.b64encode(
        f"{TEST_ACCOUNT_SID}:{TEST_AUTH_TOKEN}".encode()).decode()
    collection = f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages.json"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:
            pass

        def _json(self, status: int, doc: object) -> None:
            data = json.dumps(doc).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (timeout) and closed the socket
                pass

        def _checked(self) -> bool:
            if self.headers.get("Authorization") != expected_auth:
                self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return False
            if urlsplit(self.path).path != collection:
                self._json(404, {"code": 20404, "message": "not found", "status": 404})
                return False
            return True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length)
            if len(data) < length:
                # The client died mid-request (a killed server): like Twilio, take nothing.
                self.close_connection = True
                return
            form = {k: v[-1] for k, v in parse_qs(data.decode(), keep_blank_values=True).items()}
            to = form.get("To", "")
            with fake._lock:
                fake.in_flight += 1
                fake.most_in_flight = max(fake.most_in_flight, fake.in_flight)
                fake.in_flight_to[to] = fake.in_flight_to.get(to, 0) + 1
                fake.most_in_flight_to[to] = max(fake.most_in_flight_to.get(to, 0),
                                                 fake.in_flight_to[to])
            try:
                time.sleep(fake.answer_delay)
                self._create(form)
            finally:
                with fake._lock:
                    fake.in_flight -= 1
                    fake.in_flight_to[to] -= 1

        def _create(self, form: dict[str, str]) -> None:
            if not self._checked():
                return
            if not form.get("To") or not form.get("Body"):
                # Twilio refuses a message without a number or words (errors 21604, 21602).
                self._json(400, {"code": 21604 if not form.get("To") else 21602, "status": 400,
                                 "message": "A 'To' phone number and a 'Body' are required."})
                return
            answer = fake.next_answer()
            if answer in ERRORS:
                status, code, text = ERRORS[answer]
                self._json(status, {"code": code, "message": text, "status": status,
                                    "more_info": f"https://www.twilio.com/docs/errors/{code}"})
                return
            if answer in ("hang", "hang-accept"):
                if answer == "hang-accept":
                    fake.accept(form)
                time.sleep(fake.hang_seconds)
                self._json(500, {"code": 20500, "message": "too late", "status": 500})
                return
            self._json(201, fake.accept(form).resource())

        def do_GET(self) -> None:
            if not self._checked():
                return
            with fake._lock:
                fake.lists += 1
            query = parse_qs(urlsplit(self.path).query)
            to = query.get("To", [None])[-1]
            size = int(query.get("PageSize", ["50"])[-1])
            with fake._lock:
                found = [m for m in reversed(fake.messages) if to is None or m.to == to]
            page = [m.resource() for m in found[:size]]
            self._json(200, {"messages": page, "end": len(page) - 1, "page": 0,
                             "page_size": size, "start": 0, "next_page_uri": None,
                             "previous_page_uri": None, "first_page_uri": collection,
                             "uri": collection})

    return Handler


class FakeServer(ThreadingHTTPServer):
    # Senders open dozens of connections at once; the default backlog of 5 refuses most.
    request_queue_size = 512
    daemon_threads = True


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    server = FakeServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-twilio",
                              daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# Builders for outbox tests: a runtime, and queued texts on a case.

def twilio_settings(settings_kwargs: dict[str, object], fake: FakeTwilio, **extra: object):  # type: ignore[no-untyped-def]
    from app.kit.config import Settings

    return Settings(**{**settings_kwargs, "sms_provider": "twilio", "twilio_api_base": fake.url,  # type: ignore[arg-type]
                       "twilio_from": "61016", **extra})


def queue_text(rt, body: str, phone: str = "+447700900123") -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """An outbound text on the reporter's open case, enqueued: (message id, outbox id)."""
    from datetime import timedelta

    from app.cases.service import find_or_open_case, lock_reporter
    from app.kit.db import unit_of_work, utcnow
    from app.models import Message
    from app.sms.outbox import enqueue_sms

    now = utcnow()
    with unit_of_work(rt.sessions) as session:
        reporter = lock_reporter(session, phone, now)
        case, _, _ = find_or_open_case(session, reporter, now, reopen_within=timedelta(0),
                                       tz=rt.settings.tz)
        message = Message(case_id=case.id, direction="outbound", author="operator:test",
                          body=body, status="new", created_at=now)
        session.add(message)
        session.flush()
        row = enqueue_sms(session, message, phone)
        return message.id, row.id


class NoIntake:
    """The outbox needs no conversation; this keeps its tests off the conversation engine."""

    def on_inbound(self, *_args: object, **_kwargs: object) -> list[str]:
        return []


def make_runtime(settings, events=None):  # type: ignore[no-untyped-def]
    from app.kit.db import make_engine, make_sessionmaker
    from app.kit.runtime import Runtime
    from app.live.events import EventBus

    engine = make_engine(settings.database_url)
    return Runtime(settings=settings, engine=engine, sessions=make_sessionmaker(engine),
                   intake=NoIntake(), events=events or EventBus())
