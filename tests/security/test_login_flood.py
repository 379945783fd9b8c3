"""A sign-in flood against a real `textline serve` process must not starve the webhook.

Forty clients post wrong passwords as fast as the server answers, each attempt from a new
X-Forwarded-For address (believed: the test's loopback is the trusted proxy), so no
per-address throttle slows them. Meanwhile texts arrive one after another on the webhook and
their round trips are timed. Password hashing is the costly part of a sign-in; with a bound on
hashes in flight the excess is refused at once and the webhook keeps its pace.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from collections import Counter

import httpx

from app.sms.signature import sign
from bench.harness import Connection, free_port, percentile, serving, textline_argv
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.security.rawhttp import WEBHOOK_P95_UNDER_ATTACK
from tests.serverproc import operator_token, server_env
from tests.sms.fake_twilio import fake_twilio  # noqa: F401

ATTACKERS = 40
FLOOD_SECONDS = 6.0
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _login_form(port: int) -> tuple[str, str]:
    """What an attacker takes once and replays: the login cookie and its form token."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        page = client.get("/login")
        token = _CSRF.search(page.text)
        assert token, "no CSRF token on the login form"
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    return cookie, token.group(1)


def _flood(port: int, cookie: str, token: str, stop: threading.Event,
           outcomes: Counter[int]) -> None:
    addresses = (f"10.{a}.{b}.{c}" for a, b, c in itertools.product(range(1, 250), repeat=3))
    names = itertools.cycle(["oscar", "olga", "admin", "operator"])

    async def attacker() -> None:
        conn = Connection(port)
        try:
            while not stop.is_set():
                form = {"username": next(names), "password": "not-the-password-at-all",
                        "csrf_token": token, "next": "/"}
                status, _ = await conn.post_form("/login", form, {
                    "Cookie": cookie, "X-Forwarded-For": next(addresses)})
                outcomes[status] += 1
        finally:
            await conn.close()

    async def main() -> None:
        await asyncio.gather(*(attacker() for _ in range(ATTACKERS)))

    asyncio.run(main())


def _texts(port: int, seconds: float, prefix: str) -> list[float]:
    """Texts posted one after another for `seconds`; the round trip of each, in seconds."""
    url = f"http://127.0.0.1:{port}/webhooks/twilio/sms"
    times = []
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=30) as client:
        for i in itertools.count():
            if time.monotonic() >= deadline:
                break
            form = {"MessageSid": f"SM{prefix}{i:030d}", "AccountSid": TEST_ACCOUNT_SID,
                    "From": f"+4477009{i % 1000:05d}", "To": "61016", "NumMedia": "0",
                    "Body": "a man is shouting at people on platform 2 at leeds"}
            began = time.monotonic()
            resp = client.post(url, data=form,
                               headers={"X-Twilio-Signature": sign(TEST_AUTH_TOKEN, url, form)})
            times.append(time.monotonic() - began)
            assert resp.status_code == 200, resp.text
            time.sleep(0.05)
    return times


def test_a_sign_in_flood_from_rotating_addresses_leaves_the_webhook_fast(
        database_url, fake_twilio, tmp_path):  # noqa: F811
    operator_token(database_url, "oscar")
    port = free_port()
    env = server_env(database_url, port, fake_twilio, TEXTLINE_TRUSTED_PROXIES="127.0.0.1")
    with serving(textline_argv(port), env, port, log=tmp_path / "server.log"):
        quiet = sorted(_texts(port, 2.0, "q"))
        cookie, token = _login_form(port)
        stop, outcomes = threading.Event(), Counter[int]()
        flood = threading.Thread(target=_flood, args=(port, cookie, token, stop, outcomes))
        flood.start()
        try:
            time.sleep(0.5)  # let the flood reach full strength first
            loaded = sorted(_texts(port, FLOOD_SECONDS, "f"))
        finally:
            stop.set()
            flood.join(30)
    p95 = percentile(loaded, 95)
    print(f"\nwebhook p50/p95 quiet {percentile(quiet, 50) * 1000:.0f}/"
          f"{percentile(quiet, 95) * 1000:.0f} ms; under {ATTACKERS} sign-in attackers "
          f"{percentile(loaded, 50) * 1000:.0f}/{p95 * 1000:.0f} ms over {len(loaded)} texts; "
          f"sign-in answers {dict(outcomes)}")
    assert not flood.is_alive()
    assert sum(outcomes.values()) > ATTACKERS, "the flood never got going"
    assert set(outcomes) <= {401, 429}, outcomes  # refused, never let in, never a 500
    assert p95 < WEBHOOK_P95_UNDER_ATTACK, f"webhook p95 {p95:.2f}s under a sign-in flood"
