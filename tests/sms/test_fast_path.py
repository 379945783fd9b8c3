"""The inbound fast path (app/sms/fast_path.py) answers exactly as the routed endpoint does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.kit.middleware import SECURITY_HEADERS
from app.main import create_app
from app.models import Inbox
from app.sms.fast_path import InboundFastPath
from tests.helpers import PUBLIC, SMS_PATH, new_sid, signed_headers, sms_form


@pytest.fixture
def routed(settings) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The same app with the fast path taken out: every webhook goes through the router."""
    app = create_app(settings)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not InboundFastPath]
    with TestClient(app, base_url=PUBLIC) as c:
        yield c


def _post(c: TestClient, params: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    return c.post(SMS_PATH, data=params, headers=signed_headers(params) if headers is None
                  else headers)


def _with(**fields: str | None) -> Callable[[TestClient], Any]:
    """A fresh text with `fields` changed (None removes one), signed as changed."""
    def post(c: TestClient) -> Any:
        params = sms_form("a lad is being hassled at leeds station", sid=new_sid())
        for name, value in fields.items():
            if value is None:
                del params[name]
            else:
                params[name] = value
        return _post(c, params)
    return post


def _forged(c: TestClient) -> Any:
    params = sms_form("a lad is being hassled", sid=new_sid())
    headers = signed_headers(params)
    return _post(c, {**params, "Body": "changed after signing"}, headers)


REQUESTS: dict[str, Callable[[TestClient], Any]] = {
    "a signed text": _with(),
    "forged signature": _forged,
    "no signature": lambda c: _post(c, sms_form("x", sid=new_sid()), {}),
    "JSON instead of a form": lambda c: c.post(SMS_PATH, json={"From": "+447700900123"}),
    "body over the cap": _with(Body="x" * 20_000),
    "no MessageSid": _with(MessageSid=None),
    "no From": _with(From=None),
    "From not a number": _with(From="not-a-number"),
    "NumMedia not a number": _with(NumMedia="two"),
    "NUL in the body": _with(Body="a\x00b"),
    "bytes that are not UTF-8": lambda c: c.post(
        SMS_PATH, content=b"\xff\xfe=\x00",
        headers={"content-type": "application/x-www-form-urlencoded"}),
    "GET": lambda c: c.get(SMS_PATH),
}


@pytest.mark.parametrize("name", list(REQUESTS))
def test_fast_path_and_router_give_the_same_answer(name, client, routed):
    fast, slow = REQUESTS[name](client), REQUESTS[name](routed)
    assert fast.status_code == slow.status_code
    assert fast.content == slow.content
    for header in ("content-type", "retry-after", "www-authenticate", "allow"):
        assert fast.headers.get(header) == slow.headers.get(header), header
    for resp in (fast, slow):  # the outer middlewares still apply to both
        assert resp.headers["x-request-id"]
        for header, value in SECURITY_HEADERS:
            assert resp.headers[header.decode()] == value.decode()


def test_fast_path_serves_the_webhook_and_the_histogram_counts_it(app, client, routed):
    assert any(m.cls is InboundFastPath for m in client.app.user_middleware)
    before = _answered(client)
    assert _with()(client).status_code == 200
    assert _with()(routed).status_code == 200
    assert _answered(client) == before + 1
    assert _answered(routed) == 1
    with app.state.sessions() as s:  # both stored their text
        assert len(s.execute(select(Inbox)).scalars().all()) == 2


def _answered(c: TestClient) -> int:
    """Webhooks counted in the 2xx latency histogram (its _count line)."""
    return int(c.app.state.webhook_histograms["2xx"].lines("x")[-1].split()[-1])
