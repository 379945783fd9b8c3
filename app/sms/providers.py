"""Who sends an outbound text: the console (development, training) or Twilio's REST API.

A provider sends one text and answers which texts it recently accepted for a number; the worker
uses the second to learn whether a text it may have sent before a crash really went.
Failures come back as SendError, already sorted into "try again later" and "never will work".
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from app.kit.config import Settings
from app.kit.db import utcnow
from app.kit.logs import log_fields, mask_phone

log = logging.getLogger("textline.sms.provider")

TWILIO_TIMEOUT = 10.0  # seconds per socket operation; a hung request must not hold the lease
STATUS_PATH = "/webhooks/twilio/status"
RECENT_SCAN = 50  # newest texts to one number looked at when checking for an earlier send

# Twilio error codes worth naming on a case; the rest show as the code and Twilio's message.
ERROR_TEXT = {
    20429: "Twilio rate limit",
    21211: "invalid number",
    21408: "region not enabled on the Twilio account",
    21610: "recipient has opted out (texted STOP)",
    21612: "number cannot be reached from this sender",
    21614: "not a mobile number",
    30003: "handset unreachable",
    30004: "message blocked",
    30005: "unknown or inactive number",
    30006: "landline or unreachable carrier",
    30007: "filtered as spam by the carrier",
    30008: "unknown delivery error",
}
OPTED_OUT = 21610
# Codes that say "not now" rather than "never".
TRANSIENT_CODES = frozenset({20429, 30003})

# Twilio's message statuses in our vocabulary: once Twilio has accepted a text it is "sent"
# from the case's point of view; only the handset's answer moves it further.
TWILIO_STATUS = {
    "accepted": "sent", "scheduled": "sent", "queued": "sent", "sending": "sent", "sent": "sent",
    "delivered": "delivered", "read": "delivered",
    "undelivered": "undelivered", "failed": "failed", "canceled": "failed",
}
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "undelivered": 2, "failed": 2}


def describe_error(code: int | None, fallback: str = "") -> str:
    if code is None:
        return fallback[:200] or "unknown error"
    return f"{code}: {ERROR_TEXT.get(code) or fallback or 'Twilio error'}"[:200]


class SendError(Exception):
    """One failed delivery attempt, classified."""

    def __init__(self, reason: str, *, transient: bool, code: int | None = None,
                 maybe_sent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:200]
        self.transient = transient
        self.code = code
        # The request may have reached the far end before it failed (a read timeout, a 5xx):
        # the next attempt checks for an earlier send before sending again.
        self.maybe_sent = maybe_sent


@dataclass(frozen=True)
class Sent:
    sid: str
    status: str  # the provider's own word (Twilio: queued, sent, delivered...)
    to: str = ""
    body: str = ""
    created_at: datetime | None = None


class SmsProvider(Protocol):
    name: str

    def send(self, to: str, body: str) -> Sent: ...

    def recent(self, to: str, since: datetime) -> list[Sent]: ...


# Shared by every ConsoleProvider in the process, so a worker started after another one stopped
# mid-send still finds what the first "sent".
_CONSOLE_RECORD: deque[Sent] = deque(maxlen=10_000)
_CONSOLE_LOCK = threading.Lock()


class ConsoleProvider:
    """Records and logs each text (number masked) and sends nothing: development and training."""

    name = "console"

    def __init__(self, record: deque[Sent] | None = None) -> None:
        self.record = _CONSOLE_RECORD if record is None else record

    def send(self, to: str, body: str) -> Sent:
        sent = Sent(sid="CONSOLE" + secrets.token_hex(16), status="sent", to=to, body=body,
                    created_at=utcnow())
        with _CONSOLE_LOCK:
            self.record.append(sent)
        log.info("console text (not sent)", extra=log_fields(to=mask_phone(to), sid=sent.sid,
                                                             chars=len(body), body=body))
        return sent

    def recent(self, to: str, since: datetime) -> list[Sent]:
        with _CONSOLE_LOCK:
            found = [s for s in self.record
                     if s.to == to and s.created_at is not None and s.created_at >= since]
        return sorted(found, key=lambda s: s.created_at or since, reverse=True)


class BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's HTTP client with a timeout, aimed at TEXTLINE_TWILIO_API_BASE when that is set.

    The twilio library builds absolute https://api.twilio.com URLs (or api.<edge>.<region>...);
    rewriting them here keeps every resource, list paging included, on the configured base.
    """

    def __init__(self, base: str, timeout: float, connections: int = 10) -> None:
        super().__init__(timeout=timeout)
        self.base = base.rstrip("/")
        if self.session is not None:
            # One kept-alive connection per send in flight; beyond the pool's size requests
            # would open (and drop) a connection each.
            for scheme in ("http://", "https://"):
                self.session.mount(scheme, HTTPAdapter(pool_connections=1,
                                                       pool_maxsize=max(1, connections)))

    def request(self, method: str, url: str, params: dict[str, object] | None = None,
                data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                auth: tuple[str, str] | None = None, timeout: float | None = None,
                allow_redirects: bool = False) -> Response:
        return super().request(method, self.rewrite(url), params=params, data=data,
                               headers=headers, auth=auth, timeout=timeout,
                               allow_redirects=allow_redirects)

    def rewrite(self, url: str) -> str:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host == "api.twilio.com" or (host.startswith("api.") and host.endswith(".twilio.com")):
            rest = parts.path + (f"?{parts.query}" if parts.query else "")
            return self.base + rest
        return url


class TwilioProvider:
    """Twilio's REST API through the official client, every call bounded by a timeout."""

    name = "twilio"

    def __init__(self, settings: Settings, *, timeout: float = TWILIO_TIMEOUT,
                 connections: int = 10) -> None:
        if not settings.twilio_account_sid or settings.twilio_auth_token is None:
            raise ValueError("the Twilio provider needs an account SID and auth token")
        # Safe to share between threads: each call is one request on the session's pool.
        self.http = BaseUrlHttpClient(settings.twilio_api_base, timeout, connections)
        self.client = Client(settings.twilio_account_sid,
                             settings.twilio_auth_token.get_secret_value(), http_client=self.http)
        self.sender: dict[str, str] = (
            {"from_": settings.twilio_from} if settings.twilio_from
            else {"messaging_service_sid": settings.twilio_messaging_service_sid or ""}
        )
        self.status_callback = settings.public_url + STATUS_PATH

    def send(self, to: str, body: str) -> Sent:
        try:
            msg = self.client.messages.create(to=to, body=body,
                                              status_callback=self.status_callback, **self.sender)
        except Exception as exc:
            raise classify(exc) from exc
        return Sent(sid=msg.sid or "", status=msg.status or "queued", to=to, body=body,
                    created_at=msg.date_created)

    def recent(self, to: str, since: datetime) -> list[Sent]:
        # Filtered on date_created here, not with DateSent> at Twilio: a text Twilio has accepted
        # but not yet handed on has no date_sent, and that is exactly the one we look for.
        try:
            found = self.client.messages.list(to=to, limit=RECENT_SCAN)
        except Exception as exc:
            raise classify(exc) from exc
        out = []
        for m in found:
            created = _as_datetime(m.date_created)
            if created is not None and created >= since:
                out.append(Sent(sid=m.sid or "", status=m.status or "", to=m.to or "",
                                body=m.body or "", created_at=created))
        return out


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime) or value is None:
        return value
    try:
        return parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None


def classify(exc: BaseException) -> SendError:
    """Sort a failure from the Twilio client into transient or permanent."""
    if isinstance(exc, SendError):
        return exc
    if isinstance(exc, (TwilioRestException, TwilioServiceException)):
        status = int(getattr(exc, "status", 0) or 0)
        code = getattr(exc, "code", None)
        code = code if isinstance(code, int) and code != status else None
        text = str(getattr(exc, "msg", None) or getattr(exc, "detail", None) or "")
        text = text.split(": ", 1)[-1]  # drop the client's "Unable to create record: "
        reason = describe_error(code, text) if code else f"HTTP {status} {text}".strip()
        if status == 429 or status >= 500 or code in TRANSIENT_CODES:
            return SendError(reason, transient=True, code=code, maybe_sent=status >= 500)
        return SendError(reason, transient=False, code=code)
    if isinstance(exc, requests.ConnectTimeout):
        return SendError("Twilio: connection timed out", transient=True)
    if isinstance(exc, requests.Timeout):
        return SendError("Twilio: no answer in time", transient=True, maybe_sent=True)
    if isinstance(exc, requests.ConnectionError):
        # Refused or reset: a reset may come after Twilio read the whole request.
        return SendError("Twilio: connection failed", transient=True, maybe_sent=True)
    if isinstance(exc, requests.RequestException):
        return SendError(f"Twilio: {type(exc).__name__}", transient=True, maybe_sent=True)
    # Something unforeseen (a proxy's HTML page, a library change): retried, within the limit,
    # rather than dropping a text on a guess.
    return SendError(f"{type(exc).__name__}: {exc}", transient=True, maybe_sent=True)


def provider_for(settings: Settings, *, connections: int = 10) -> SmsProvider:
    """The configured provider; `connections`: the sends it may be asked to make at once."""
    if settings.provider == "twilio":
        return TwilioProvider(settings, connections=connections)
    return ConsoleProvider()
