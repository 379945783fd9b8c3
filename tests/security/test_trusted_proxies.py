"""X-Forwarded-For is believed only from TEXTLINE_TRUSTED_PROXIES: otherwise a client picks the
address its failed sign-ins count against, and escapes every wait by writing a new one."""

from __future__ import annotations

import re
from ipaddress import ip_network
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.kit.client_address import client_address
from app.kit.config import ConfigError, Settings, load_settings
from app.main import create_app
from bench.harness import free_port, serving, textline_argv
from tests.dashboard.signin import add_user
from tests.serverproc import operator_token, server_env
from tests.sms.fake_twilio import fake_twilio  # noqa: F401

NETS = [ip_network("10.0.0.0/8"), ip_network("127.0.0.1"), ip_network("fd00::/8")]


@pytest.mark.parametrize(("peer", "headers", "expected"), [
    ("203.0.113.9", ["1.2.3.4"], "203.0.113.9"),  # peer not a proxy: header ignored
    ("127.0.0.1", [], "127.0.0.1"),  # a proxy, but nothing forwarded
    ("127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
    # The client wrote 6.6.6.6 itself; our proxies appended what they saw, from the right.
    ("10.0.0.2", ["6.6.6.6, 198.51.100.1, 10.0.0.7"], "198.51.100.1"),
    ("10.0.0.2", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # two headers, in order
    ("10.0.0.2", ["6.6.6.6, not-an-address"], "10.0.0.2"),  # garbage: believe nothing
    ("10.0.0.2", ["10.1.1.1, 10.0.0.3"], "10.1.1.1"),  # all ours: the origin
    ("fd00::5", ["2001:db8::1"], "2001:db8::1"),
    ("testclient", ["1.2.3.4"], "testclient"),
])
def test_the_rightmost_address_not_a_trusted_proxy(peer, headers, expected):
    assert client_address(peer, headers, NETS) == expected


def test_nothing_is_trusted_by_default():
    assert client_address("127.0.0.1", ["198.51.100.1"], []) == "127.0.0.1"
    assert Settings().proxy_networks == ()


def test_a_bad_proxy_setting_stops_the_start_in_one_line():
    with pytest.raises(ConfigError, match=re.escape("TEXTLINE_TRUSTED_PROXIES: 'proxy.local'")):
        load_settings(trusted_proxies="127.0.0.1, proxy.local")


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _token(client: TestClient | httpx.Client) -> str:
    match = _CSRF.search(client.get("/login").text)
    assert match, "no CSRF token on the login form"
    return match.group(1)


def _wrong_from(client: TestClient | httpx.Client, forwarded_for: str) -> int:
    return client.post("/login", data={"username": "alice", "password": "wrong-password-here",
                                       "csrf_token": _token(client)},
                       headers={"X-Forwarded-For": forwarded_for},
                       follow_redirects=False).status_code


def _rotating_failures(app: Any, peer: str) -> list[int]:
    with TestClient(app, base_url="https://textline.example.org", client=(peer, 40000)) as c:
        return [_wrong_from(c, f"198.51.100.{i}") for i in range(6)]


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(settings_kwargs):
    untrusted = create_app(Settings(**settings_kwargs))
    add_user(untrusted, "alice")
    # A new X-Forwarded-For each time buys nothing: every failure counts against the peer.
    assert _rotating_failures(untrusted, "127.0.0.1")[-2:] == [429, 429]
    behind = create_app(Settings(**{**settings_kwargs, "trusted_proxies": "127.0.0.0/8"}))
    # Behind a trusted proxy each address is its own client, as it should be.
    assert _rotating_failures(behind, "127.0.0.1") == [401] * 6


def test_the_served_app_sees_the_real_peer(database_url, fake_twilio, tmp_path):  # noqa: F811
    """`textline serve` must not let uvicorn believe X-Forwarded-For from loopback first."""
    operator_token(database_url, "alice")
    port = free_port()
    with serving(textline_argv(port), server_env(database_url, port, fake_twilio), port,
                 log=tmp_path / "server.log"), \
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        statuses = [_wrong_from(client, f"198.51.100.{i}") for i in range(6)]
    assert statuses[:3] == [401] * 3 and statuses[-1] == 429, statuses
