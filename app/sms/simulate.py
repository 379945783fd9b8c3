"""`textline simulate`: type as a passenger; each line is posted as a signed Twilio webhook.

A client of a running server and nothing else: it reads the replies over HTTP
(GET /simulator/replies, app/dashboard/simulator.py), never from a database, so it runs from any
folder and against any host."""

from __future__ import annotations

import secrets
import time
import xml.etree.ElementTree as ET
from typing import TextIO
from urllib.parse import urlencode, urlsplit

import httpx

from app.kit.config import Settings
from app.sms.phone import normalise_phone
from app.sms.signature import sign
from app.sms.signed_form import INBOUND_PATH

REPLIES_PATH = "/simulator/replies"
FICTIONAL_PREFIX = "+447700900"  # Ofcom's range for drama: never a real subscriber


def new_sid() -> str:
    return "SM" + secrets.token_hex(16)


def fictional(phone: str | None) -> str | None:
    """The number in E.164 if it is in the fictional range +447700900000-999, else None."""
    normal = normalise_phone(phone or "")
    if normal and normal.startswith(FICTIONAL_PREFIX) and len(normal) == len(FICTIONAL_PREFIX) + 3:
        return normal
    return None


def webhook_url(url: str) -> str:
    """The server's base URL (`http://127.0.0.1:8000`, or with a path prefix) gets the webhook's
    path; a URL already ending in it is taken as it is."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--url must be an http:// or https:// URL, not {url!r}")
    trimmed = url.rstrip("/")
    return trimmed if trimmed.endswith(INBOUND_PATH) else trimmed + INBOUND_PATH


def twiml_messages(xml_text: str) -> list[str]:
    if not xml_text.strip():
        return []
    root = ET.fromstring(xml_text)
    return [(m.text or "") for m in root.iter("Message")]


def post_text(client: httpx.Client, settings: Settings, url: str, phone: str, body: str,
              to: str = "61016", sid: str | None = None) -> httpx.Response:
    params = {"MessageSid": sid or new_sid(), "AccountSid": settings.twilio_account_sid or "AC" + "0" * 32,
              "From": phone, "To": to, "Body": body, "NumMedia": "0"}
    headers = {}
    if settings.twilio_auth_token is not None:
        headers["X-Twilio-Signature"] = sign(settings.twilio_auth_token.get_secret_value(), url, params)
    return client.post(url, data=params, headers=headers)


class Replies:
    """What the server sent the simulated phone, asked of the server over HTTP.

    The webhook only stores a text; the replies follow once it is read, so the simulator asks
    until the server says the text is read. The question is signed like a webhook when the
    server requires signatures."""

    def __init__(self, client: httpx.Client, settings: Settings, base: str, phone: str) -> None:
        self.client, self.settings, self.base, self.phone = client, settings, base, phone
        self.seen = 0

    def after(self, sid: str, timeout: float = 10.0) -> list[str] | str:
        """The texts sent to this phone once `sid` is read, or why they cannot be shown."""
        deadline = time.monotonic() + timeout
        while True:
            url = f"{self.base}{REPLIES_PATH}?" + urlencode(
                {"phone": self.phone, "sid": sid, "after": self.seen})
            headers = {}
            if self.settings.twilio_auth_token is not None:
                headers["X-Twilio-Signature"] = sign(
                    self.settings.twilio_auth_token.get_secret_value(), url, {})
            resp = self.client.get(url, headers=headers)
            if resp.status_code != 200:
                return f"replies not shown: the server answered {resp.status_code}: {_detail(resp)}"
            answer = resp.json()
            if answer["read"]:
                replies = answer["replies"]
                if replies:
                    self.seen = replies[-1]["id"]
                return [r["body"] for r in replies]
            if time.monotonic() > deadline:
                return f"stored, but not read within {timeout:.0f} s: is the server's worker running?"
            time.sleep(0.1)


def _detail(resp: httpx.Response) -> str:
    try:
        return str(resp.json()["detail"])[:200]
    except Exception:  # not our JSON: a proxy's page, say
        return resp.text[:200]


def run_simulator(settings: Settings, url: str, phone: str, stdin: TextIO, stdout: TextIO) -> int:
    target = webhook_url(url)
    base = target.removesuffix(INBOUND_PATH)
    stdout.write(f"Texting {target} from {phone}. Type a message, Enter to send, Ctrl-D to stop.\n")
    if fictional(phone) is None:
        stdout.write(f"(Replies are shown only for the fictional numbers {FICTIONAL_PREFIX}000"
                     " to 999.)\n")
    with httpx.Client(timeout=30) as client:
        return _converse(settings, target, phone, Replies(client, settings, base, phone),
                         client, stdin, stdout)


def _converse(settings: Settings, url: str, phone: str, replies: Replies, client: httpx.Client,
              stdin: TextIO, stdout: TextIO) -> int:
    show = fictional(phone) is not None
    while True:
        if stdin.isatty():
            stdout.write("you> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            return 0
        text = line.rstrip("\n")
        if not text.strip():
            continue
        sid = new_sid()
        try:
            resp = post_text(client, settings, url, phone, text, sid=sid)
            if resp.status_code != 200:
                stdout.write(f"! server answered {resp.status_code}: {resp.text[:200]}\n")
                continue
            answer = twiml_messages(resp.text) or (replies.after(sid) if show else [])
        except httpx.HTTPError as exc:
            raise ConnectionError(f"cannot reach {url}: {exc}") from None
        if isinstance(answer, str):
            stdout.write(f"! {answer}\n")
            show = not answer.startswith("replies not shown")  # the same answer for every text
        else:
            for reply in answer:
                stdout.write(f"61016> {reply}\n")
        stdout.flush()
