"""Small builders for tests: signed Twilio webhooks, users and tokens."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import func, select

from app.auth.service import create_token, create_user
from app.inbox.reader import process_pending
from app.kit.db import unit_of_work
from app.models import Case, Message, Reporter
from app.sms.signature import sign
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

PUBLIC = "https://textline.example.org"
SMS_PATH = "/webhooks/twilio/sms"
_sids = itertools.count(1)


def new_sid() -> str:
    return f"SM{next(_sids):032d}"


def sms_form(body: str, phone: str = "+447700900123", sid: str | None = None,
             **extra: str) -> dict[str, str]:
    return {"MessageSid": sid or new_sid(), "AccountSid": TEST_ACCOUNT_SID, "From": phone,
            "To": "61016", "Body": body, "NumMedia": "0", **extra}


def signed_headers(params: dict[str, str], path: str = SMS_PATH, query: str = "") -> dict[str, str]:
    url = PUBLIC + path + (f"?{query}" if query else "")
    return {"X-Twilio-Signature": sign(TEST_AUTH_TOKEN, url, params)}


def text_in(client: Any, body: str, phone: str = "+447700900123", sid: str | None = None,
            *, read: bool = True) -> Any:
    """Post a signed text; then, unless read=False, read the inbox as the processor would."""
    params = sms_form(body, phone, sid)
    resp = client.post(SMS_PATH, data=params, headers=signed_headers(params))
    if read:
        process_pending(client.app.state.runtime)
    return resp


def converse(client: Any, body: str, phone: str = "+447700900123") -> list[str]:
    """Text in and return the bot's replies to that text, as queued for the texter."""
    rt = client.app.state.runtime
    with rt.sessions() as session:
        before = session.execute(select(func.max(Message.id))).scalar() or 0
    resp = text_in(client, body, phone)
    assert resp.status_code == 200, resp.text
    with rt.sessions() as session:
        return list(session.execute(
            select(Message.body).join(Case, Case.id == Message.case_id)
            .join(Reporter, Reporter.id == Case.reporter_id)
            .where(Reporter.phone == phone, Message.author == "bot", Message.id > before)
            .order_by(Message.id)).scalars())


def token_for(app: Any, role: str = "operator", username: str | None = None) -> dict[str, str]:
    username = username or f"{role}_user"
    with unit_of_work(app.state.sessions) as session:
        create_user(session, username, role, "correct-horse-battery", actor="test")
        token = create_token(session, username, "test", actor="test")
    return {"Authorization": f"Bearer {token}"}
