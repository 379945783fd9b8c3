"""Providers: the console one logs and records, the Twilio one talks HTTP to the configured base."""

from __future__ import annotations

import logging
from collections import deque
from datetime import timedelta

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from app.kit.config import Settings
from app.kit.db import utcnow
from app.kit.logs import JsonFormatter
from app.sms.providers import (
    BaseUrlHttpClient,
    ConsoleProvider,
    SendError,
    TwilioProvider,
    classify,
    provider_for,
)
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.sms.fake_twilio import fake_twilio  # noqa: F401

PHONE = "+447700900123"


def twilio(fake, **extra: object) -> Settings:  # type: ignore[no-untyped-def]
    base = {"sms_provider": "twilio", "twilio_account_sid": TEST_ACCOUNT_SID,
            "twilio_auth_token": TEST_AUTH_TOKEN, "twilio_api_base": fake.url,
            "public_url": "https://textline.example.org"}
    if "twilio_messaging_service_sid" not in extra:
        base["twilio_from"] = "61016"
    return Settings(**{**base, **extra})  # type: ignore[arg-type]


def test_console_records_and_logs_masked_number(caplog):
    record: deque = deque()
    provider = ConsoleProvider(record)
    with caplog.at_level(logging.INFO, logger="textline.sms.provider"):
        sent = provider.send(PHONE, "Thanks for your text.")
    assert sent.sid.startswith("CONSOLE") and len(sent.sid) == 39
    assert [(s.to, s.body) for s in record] == [(PHONE, "Thanks for your text.")]
    [log_record] = caplog.records
    line = JsonFormatter().format(log_record)
    assert PHONE not in line and PHONE not in log_record.getMessage()
    assert log_record.fields["to"] == "+44770090****"
    assert "+44770090****" in line
    assert provider.recent(PHONE, utcnow() - timedelta(minutes=1))[0].sid == sent.sid
    assert provider.recent(PHONE, utcnow() + timedelta(minutes=1)) == []
    assert provider.recent("+447700900999", utcnow() - timedelta(minutes=1)) == []


def test_console_sids_are_unique():
    provider = ConsoleProvider(deque())
    assert len({provider.send(PHONE, "x").sid for _ in range(100)}) == 100


def test_provider_for_settings(fake_twilio):  # noqa: F811
    assert isinstance(provider_for(Settings(sms_provider="console")), ConsoleProvider)
    assert isinstance(provider_for(twilio(fake_twilio)), TwilioProvider)


def test_twilio_sends_from_number_with_status_callback(fake_twilio):  # noqa: F811
    sent = TwilioProvider(twilio(fake_twilio), timeout=2).send(PHONE, "hello")
    [got] = fake_twilio.messages
    assert sent.sid == got.sid and sent.status == "queued"
    assert (got.to, got.from_, got.messaging_service_sid) == (PHONE, "61016", None)
    assert got.status_callback == "https://textline.example.org/webhooks/twilio/status"


def test_twilio_sends_through_messaging_service(fake_twilio):  # noqa: F811
    settings = twilio(fake_twilio, twilio_messaging_service_sid="MG" + "b" * 32)
    TwilioProvider(settings, timeout=2).send(PHONE, "hello")
    [got] = fake_twilio.messages
    assert (got.from_, got.messaging_service_sid) == (None, "MG" + "b" * 32)


def test_twilio_recent_lists_only_that_number_since(fake_twilio):  # noqa: F811
    provider = TwilioProvider(twilio(fake_twilio), timeout=2)
    a = provider.send(PHONE, "one")
    provider.send("+447700900999", "other")
    found = provider.recent(PHONE, utcnow() - timedelta(minutes=5))
    assert [(s.sid, s.body, s.to) for s in found] == [(a.sid, "one", PHONE)]
    assert provider.recent(PHONE, utcnow() + timedelta(minutes=5)) == []


def test_wrong_credentials_are_a_permanent_failure(fake_twilio):  # noqa: F811
    settings = twilio(fake_twilio, twilio_auth_token="another-token-0123456789abcdef")
    with pytest.raises(SendError) as info:
        TwilioProvider(settings, timeout=2).send(PHONE, "hello")
    assert not info.value.transient
    assert fake_twilio.messages == []


def test_base_url_rewrite():
    http = BaseUrlHttpClient("http://127.0.0.1:9999/", timeout=1)
    assert http.rewrite("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=%2B44") \
        == "http://127.0.0.1:9999/2010-04-01/Accounts/AC1/Messages.json?To=%2B44"
    assert http.rewrite("https://api.dublin.ie1.twilio.com/2010-04-01/x") \
        == "http://127.0.0.1:9999/2010-04-01/x"
    assert http.rewrite("https://example.org/x") == "https://example.org/x"
    assert http.timeout == 1


def rest(status: int, code: int | None) -> TwilioRestException:
    return TwilioRestException(status, "/Messages.json", "Unable to create record: nope", code,
                               "POST")


@pytest.mark.parametrize(("exc", "transient", "maybe_sent", "code"), [
    (rest(429, 20429), True, False, 20429),
    (rest(429, 429), True, False, None),
    (rest(500, 20500), True, True, 20500),
    (rest(503, None), True, True, None),
    (rest(400, 30003), True, False, 30003),
    (rest(400, 21610), False, False, 21610),
    (rest(400, 30006), False, False, 30006),
    (rest(400, 21211), False, False, 21211),
    (rest(404, 20404), False, False, 20404),
    (requests.ConnectTimeout(), True, False, None),
    (requests.ReadTimeout(), True, True, None),
    (requests.ConnectionError(), True, True, None),
    (ValueError("unexpected body"), True, True, None),
])
def test_classify(exc, transient, maybe_sent, code):
    err = classify(exc)
    assert (err.transient, err.maybe_sent, err.code) == (transient, maybe_sent, code)
    assert err.reason


def test_classified_reasons_read_well():
    assert classify(rest(400, 21610)).reason == "21610: recipient has opted out (texted STOP)"
    assert classify(rest(400, 21999)).reason == "21999: nope"
    assert classify(rest(503, None)).reason == "HTTP 503 nope"
