"""`textline simulate`: type as a passenger; each line is posted as a signed Twilio webhook."""

from __future__ import annotations

import secrets
import time
import xml.etree.ElementTree as ET
from typing import TextIO

import httpx

from app.kit.config import Settings
from app.sms.signature import sign


def new_sid() -> str:
    return "SM" + secrets.token_hex(16)


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


class Phone:
    """What the simulated phone receives: texts sent to its number, read from the database.

    The webhook only stores a text; the replies follow through the outbox once it is read, so
    the simulator watches for them where the server writes them (the same TEXTLINE_DATABASE_URL).
    """

    def __init__(self, settings: Settings, phone: str) -> None:
        from app.kit.db import make_engine

        self.phone = phone
        self.engine = make_engine(settings.database_url, read_only=settings.is_sqlite)
        self.seen = 0

    def replies_to(self, sid: str, timeout: float = 10.0) -> list[str] | None:
        """The texts sent to this phone once `sid` is read; None if it is not read in time."""
        from sqlalchemy import select

        from app.models import Case, Message, Reporter

        deadline = time.monotonic() + timeout
        with self.engine.connect() as conn:
            while conn.execute(select(Message.id).where(Message.provider_sid == sid)).first() is None:
                conn.rollback()  # a fresh snapshot for the next look
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.05)
            rows = conn.execute(
                select(Message.id, Message.body).join(Case, Case.id == Message.case_id)
                .join(Reporter, Reporter.id == Case.reporter_id)
                .where(Reporter.phone == self.phone, Message.direction == "outbound",
                       Message.id > self.seen).order_by(Message.id)).all()
        if rows:
            self.seen = rows[-1].id
        return [r.body for r in rows]

    def close(self) -> None:
        self.engine.dispose()


def run_simulator(settings: Settings, url: str, phone: str, stdin: TextIO, stdout: TextIO) -> int:
    stdout.write(f"Texting {url} from {phone}. Type a message, Enter to send, Ctrl-D to stop.\n")
    inbox = Phone(settings, phone)
    try:
        return _converse(settings, url, phone, inbox, stdin, stdout)
    finally:
        inbox.close()


def _converse(settings: Settings, url: str, phone: str, inbox: Phone, stdin: TextIO,
              stdout: TextIO) -> int:
    with httpx.Client(timeout=30) as client:
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
            except httpx.HTTPError as exc:
                raise ConnectionError(f"cannot reach {url}: {exc}") from None
            if resp.status_code != 200:
                stdout.write(f"! server answered {resp.status_code}: {resp.text[:200]}\n")
                continue
            replies = twiml_messages(resp.text) or inbox.replies_to(sid)
            if replies is None:
                stdout.write("! stored, but not read within 10 s: is the server's worker running?\n")
            for reply in replies or []:
                stdout.write(f"61016> {reply}\n")
            stdout.flush()
