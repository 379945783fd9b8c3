"""Helpers for tests that run real `textline serve` processes against one database."""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from app.auth.service import create_token, create_user
from app.kit.db import unit_of_work
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.sms.fake_twilio import FakeTwilio

PASSWORD = "correct-horse-battery"


def server_env(url: str, port: int, fake: FakeTwilio, **extra: str) -> dict[str, str]:
    """Twilio as the provider, pointed at the fake; webhooks signed for this port's URL."""
    return {"TEXTLINE_DATABASE_URL": url, "TEXTLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "TEXTLINE_TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
            "TEXTLINE_TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID, "TEXTLINE_SMS_PROVIDER": "twilio",
            "TEXTLINE_TWILIO_API_BASE": fake.url, "TEXTLINE_TWILIO_FROM": "61016",
            "TEXTLINE_SECRET_KEY": "server-test-secret-0123456789abcdef",
            # Not the working directory's: each server its own spool (docs/outage.md), made
            # only if a text is spooled.
            "TEXTLINE_SPOOL_DIR": str(Path(tempfile.gettempdir())
                                      / f"textline-spool-{port}-{secrets.token_hex(4)}"),
            "TEXTLINE_LOG_LEVEL": "WARNING", **extra}


def operator_token(url: str, username: str = "oscar") -> str:
    """Creates an operator (password PASSWORD) and returns a bearer token for them."""
    engine = create_engine(url)
    with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
        create_user(session, username, "operator", PASSWORD, actor="test")
        token = create_token(session, username, "server test", actor="test")
    engine.dispose()
    return token


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
