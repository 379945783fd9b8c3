"""`textline simulate`: type as a passenger; each line is posted as a signed Twilio webhook."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from typing import TextIO

import httpx

from app.config import Settings
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


def run_simulator(settings: Settings, url: str, phone: str, stdin: TextIO, stdout: TextIO) -> int:
    stdout.write(f"Texting {url} from {phone}. Type a message, Enter to send, Ctrl-D to stop.\n")
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
            try:
                resp = post_text(client, settings, url, phone, text)
            except httpx.HTTPError as exc:
                raise ConnectionError(f"cannot reach {url}: {exc}") from None
            if resp.status_code != 200:
                stdout.write(f"! server answered {resp.status_code}: {resp.text[:200]}\n")
                continue
            for reply in twiml_messages(resp.text):
                stdout.write(f"61016> {reply}\n")
            stdout.flush()
