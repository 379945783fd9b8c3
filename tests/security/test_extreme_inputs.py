"""Extreme values anywhere a request carries them are a clear 4xx, never a 500.

Every route the app serves is found from the app itself (so a new route is probed without being
listed here), and each of its path parameters, query parameters and form fields is given, one
at a time, huge and negative numbers, dates at the ends of time with offsets that push them
past it, very long strings, NUL and invalid UTF-8. The JSON API's bodies, the headers every
request reads and the inbound webhook's fields get the same. Through the real app, signed in
as an admin (so every route is reached), on SQLite and PostgreSQL: PostgreSQL refuses integers
past 64 bits and NUL in text, both of which SQLite stores, so a value that slips through
validation fails on one database only.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.models import Message
from tests.dashboard.signin import login_form_token, sign_in
from tests.helpers import PUBLIC, signed_headers, sms_form, text_in, token_for

# Raw, as they go into a URL or a urlencoded form: "%00" is NUL, "%FF%FE" is not UTF-8.
NUMBERS = ["99999999999999999999", "9223372036854775808", "-99999999999999999999",
           "2147483648", "-1", "0", "1e400", "nan"]
DATES = ["0001-01-01", "9999-12-31", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00%2B23:59",
         "2026-02-30"]
STRINGS = ["a" * 5000, "9" * 5000, "x%00y", "%FF%FE", "%F0%9F%98%80" * 500, ""]
EXTREMES = NUMBERS + DATES + STRINGS
# Routes that check a password cost a hash per request: the values most likely to break one.
FEW = ["a" * 5000, "x%00y", "%FF%FE"]
# A form's bytes need not be UTF-8 at all, percent-encoded or not: raw, a lone surrogate.
RAW = b"\xff\xfe\xed\xa0\x80"
HASHING = {"/login", "/password"}
# Path parameters that must be right for a probe to reach the route's code at all.
PATH_DEFAULTS = {"case_id": "1", "kind": "cases", "fmt": "csv"}
QUERY_DEFAULTS = {"/api/exports/{kind}.{fmt}": {"from": "2026-01-01", "to": "2026-01-02"},
                  "/supervisor/export": {"from": "2026-01-01", "to": "2026-01-02"},
                  "/simulator/messages": {"phone": "%2B447700900000"}}


def _fails(resp: Any) -> str | None:
    """Why an answer is not a clear refusal, or None when it is fine."""
    if resp.status_code >= 500:
        return f"{resp.status_code} {resp.text[:200]}"
    if resp.status_code >= 400 and resp.headers.get("content-type", "").startswith(
            "application/json") and not isinstance(resp.json().get("detail"), str):
        return f"{resp.status_code} without a one-line detail: {resp.text[:200]}"
    return None


@pytest.fixture
def admin(app) -> Iterator[tuple[TestClient, str]]:  # type: ignore[no-untyped-def]
    """A signed-in admin's browser, and its session's CSRF token, with one case to look at."""
    with TestClient(app, base_url=PUBLIC, raise_server_exceptions=False) as browser:
        assert text_in(browser, "a lad about 14 at leeds station now",
                       phone="+447700900901").status_code == 200
        yield browser, sign_in(browser, app, "sam", "admin")


def _routes(app) -> list[tuple[str, str, Any]]:  # type: ignore[no-untyped-def]
    found = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None or route.path in ("/docs", "/redoc", "/openapi.json"):
            continue
        found += [(method, route.path, dependant) for method in sorted(route.methods)
                  if method != "HEAD"]
    return found


def _probes(method: str, path: str, dependant: Any) -> Iterator[tuple[str, str, str | bytes]]:
    """(where, name, value) for each parameter and field of one route."""
    values = FEW if path in HASHING else EXTREMES
    forms = [p.alias for p in dependant.body_params
             if type(p.field_info).__name__ == "Form"]
    for where, names in (("path", [p.alias for p in dependant.path_params]),
                         ("query", [p.alias for p in dependant.query_params]),
                         ("form", forms)):
        for name, value in itertools.product(names, values):
            yield where, name, value
    for name in forms:
        yield "form", name, RAW


def _send(browser: TestClient, csrf: str, method: str, path: str, dependant: Any,
          where: str, name: str, value: str | bytes) -> Any:
    params = {p.alias: PATH_DEFAULTS.get(p.alias, "1") for p in dependant.path_params}
    query = dict(QUERY_DEFAULTS.get(path, {}))
    if where == "path":
        params[name] = str(value)
    elif where == "query":
        query[name] = str(value)
    url = path.format(**params) + ("?" + "&".join(f"{k}={v}" for k, v in query.items())
                                   if query else "")
    if path == "/events":  # a stream, unless refused: never read to its end
        with browser.stream(method, url) as resp:
            if resp.status_code != 200:
                resp.read()
            return resp
    if where == "form":
        # The value raw (it is already encoded); the form's own token, never the header, so a
        # token probed away is really missing.
        raw = value if isinstance(value, bytes) else value.encode()
        return browser.request(method, url, follow_redirects=False,
                               content=f"csrf_token={quote(csrf)}&{name}=".encode() + raw,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    body = {"body": "hello"} if dependant.body_params else None
    return browser.request(method, url, json=body, headers={"X-CSRF-Token": csrf},
                           follow_redirects=False)


def test_no_parameter_or_field_of_any_route_earns_a_500(app, admin):
    browser, csrf = admin
    routes = _routes(app)
    probed = {path for _, path, _ in routes}
    # Found from the app, so make sure the finding found them: API, pages, forms, streams.
    assert {"/api/cases", "/api/exports/{kind}.{fmt}", "/cases/{case_id}/decision", "/login",
            "/simulator/messages", "/events", "/supervisor/accounts/unlock"} <= probed
    failures, sent = [], 0
    for method, path, dependant in routes:
        for where, name, value in _probes(method, path, dependant):
            resp = _send(browser, csrf, method, path, dependant, where, name, value)
            sent += 1
            if (why := _fails(resp)) is not None:
                failures.append(f"{method} {path} {where} {name}={value[:30]!r}: {why}")
    assert sent > 1000
    assert not failures, "\n".join(failures)


HEADERS = [("X-Twilio-Signature", b"\xff\xfe"), ("Authorization", b"Bearer \xff\xfe"),
           ("Authorization", b"Bearer " + b"a" * 5000), ("X-CSRF-Token", b"\xff"),
           ("X-Forwarded-For", b"\xff, 999.999.999.999"), ("X-Request-Id", b"\xff" * 100),
           ("Cookie", b"__Host-textline=\xff\xfe"), ("Origin", b"https://\xff"),
           ("Content-Length", b"9" * 5000)]
JSON_ODD: list[Any] = [10**30, -10**30, 1e308, None, [], {}, True, "a" * 5000, "x\x00y", "\udfff",
                       "0001-01-01T00:00:00+23:59", "\U0001f600" * 2000]
JSON_RAW = [b'{"body": "\xff\xfe"}', b'{"body": 1e999}', b"[" * 5000,
            b'{"body": ' + b"9" * 5000 + b"}", b'{"body": "a\\u0000"}']
WEBHOOK_ODD = ["99999999999999999999", "9" * 5000, "-1", "a" * 5000, "\ufffd", "\u202e", "",
               "\U0001f600" * 1500, "0001-01-01T00:00:00+23:59"]


def test_no_header_json_body_or_webhook_field_earns_a_500(app, client):
    text_in(client, "a lad about 14 at leeds station now", phone="+447700900902")
    # Headers every request reads, to the webhooks, the API, a page, sign-in and /metrics.
    for (name, value), (method, path) in itertools.product(HEADERS, [
            ("POST", "/webhooks/twilio/sms"), ("POST", "/webhooks/twilio/status"),
            ("GET", "/api/cases"), ("POST", "/api/cases/1/notes"), ("GET", "/"),
            ("POST", "/login"), ("GET", "/metrics")]):
        resp = client.request(method, path, headers={
            "Content-Type": "application/x-www-form-urlencoded", name: value},
            content=None if name == "Content-Length" else b"MessageSid=SM1&From=%2B447700900904")
        assert _fails(resp) is None, (name, method, path, resp.text[:200])

    # The JSON API's bodies, with a token.
    headers = {**token_for(app, "admin"), "Content-Type": "application/json"}
    valid = {"messages": {"body": "hi"}, "notes": {"body": "hi"},
             "decision": {"decision": "101", "queue": "general", "reason": "seen on camera"},
             "close": {"outcome": "done"}}
    for route, fields in [("messages", ["body", "confirm_discreet"]), ("notes", ["body"]),
                          ("decision", ["decision", "queue", "reason"]), ("close", ["outcome"])]:
        bodies = [json.dumps({**valid[route], field: value}).encode("utf-8", "surrogatepass")
                  for field, value in itertools.product(fields, JSON_ODD)]
        for body in bodies + JSON_RAW:
            resp = client.post(f"/api/cases/1/{route}", content=body, headers=headers)
            assert _fails(resp) is None, (route, body[:60], resp.text[:200])
            # 400: FastAPI's answer to a body that is not JSON at all.
            assert resp.status_code in (200, 201, 400, 409, 422), (route, body[:60],
                                                                   resp.status_code)

    # The inbound webhook's fields, signed as Twilio would sign them; then bodies that are
    # not forms at all, unsigned (refused before the signature is looked at, or at it).
    for field, value in itertools.product(
            ["MessageSid", "From", "To", "Body", "NumMedia", "MediaUrl0", "AccountSid"],
            WEBHOOK_ODD):
        params = {**sms_form("hello", "+447700900903"), field: value}
        resp = client.post("/webhooks/twilio/sms", data=params, headers=signed_headers(params))
        assert resp.status_code in (200, 400), (field, value[:20], resp.status_code, resp.text)
    for raw, status in [(b"\xff\xfe=1", 400), (b"From=%2B447700900903&MessageSid=SM2&Body=%00", 400),
                        (b"Body=%FF%FE&From=%2B447700900903&MessageSid=SM1", 403)]:
        resp = client.post("/webhooks/twilio/sms", content=raw,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert resp.status_code == status, (raw, resp.text)


def test_no_sign_in_field_earns_a_500(client):
    values = ["x\x00y", "a" * 5000, "\U0001f600" * 2000]
    tries = itertools.count()
    for field, value in itertools.product(["username", "password", "next"], values):
        # A username of its own each time, so that no try is held back by the ones before.
        form = {"username": f"nobody{next(tries)}", "password": "not-the-password", field: value}
        resp = client.post("/login", follow_redirects=False,
                           data={**form, "csrf_token": login_form_token(client)})
        if "\x00" in value:  # refused before any look-up: PostgreSQL cannot compare it
            assert resp.status_code == 422, (field, resp.status_code)
            assert resp.json()["detail"] == "NUL characters are not allowed in the form"
        else:
            assert resp.status_code == 401, (field, value[:20], resp.status_code)


def test_nul_in_a_query_string_or_form_is_a_clear_422(app, admin):
    browser, csrf = admin
    for url in ["/api/cases?queue=%00", "/queue/rows?queue=a%00",
                "/supervisor/accounts/reset-password?username=%00",
                "/api/exports/cases.csv?from=2026-01-01&to=2026-01-02&include_pii=true"
                "&reason=because%00"]:
        resp = browser.get(url)
        assert resp.status_code == 422, url
        assert resp.json() == {"detail": "NUL characters are not allowed in the query string"}
    for path, form in [("/supervisor/accounts/unlock", "username=sam%00"),
                       ("/supervisor/accounts/reset-password", "username=%00"),
                       ("/cases/1/note", "body=a%00b")]:
        resp = browser.post(path, content=f"csrf_token={csrf}&{form}", follow_redirects=False,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert resp.status_code == 422, path
        assert resp.json() == {"detail": "NUL characters are not allowed in the form"}
    # A "%00" a person types is sent as %2500: text, not NUL, and kept as typed.
    resp = browser.post("/cases/1/note", data={"body": "50%00 sure", "csrf_token": csrf},
                        follow_redirects=False)
    assert resp.status_code == 303
    with app.state.sessions() as s:
        assert s.execute(select(Message.body).where(Message.direction == "internal")
                         ).scalar_one() == "50%00 sure"


def test_a_message_id_past_the_column_is_a_clear_422(app, admin):
    browser, _ = admin
    resp = browser.get("/simulator/messages",
                       params={"phone": "+447700900000", "after": "99999999999999999999"})
    assert resp.status_code == 422
    assert "less than or equal to 2147483647" in resp.json()["detail"]


def test_a_control_character_in_a_simulated_text_is_a_clear_422(app, admin):
    browser, csrf = admin
    resp = browser.post("/simulator/send", json={"phone": "+447700900000", "body": "hi\x00"},
                        headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 422
    assert "control characters" in resp.json()["detail"]


def test_a_csrf_token_that_is_not_ascii_is_refused_as_any_wrong_one(app, admin):
    browser, _ = admin
    resp = browser.post("/cases/1/note", data={"body": "hi", "csrf_token": "\u00e9" * 64})
    assert resp.status_code == 403
    resp = browser.post("/api/cases/1/notes", json={"body": "hi"},
                        headers={"X-CSRF-Token": b"\xe9" * 64})
    assert resp.status_code == 403
    with TestClient(app, base_url=PUBLIC, client=("192.0.2.8", 5000)) as desk:
        desk.get("/login")
        resp = desk.post("/login", data={"username": "sam", "password": "x" * 12,
                                         "csrf_token": "\u2603"})
    assert resp.status_code == 400 and "expired" in resp.text


def test_a_signature_that_is_not_ascii_is_a_forgery(client):
    params = sms_form("hello", "+447700900905")
    for path in ["/webhooks/twilio/sms", "/webhooks/twilio/status"]:
        resp = client.post(path, data=params, headers={"X-Twilio-Signature": b"\xff\xfe=="})
        assert resp.status_code == 403, path


def test_a_content_length_of_thousands_of_digits_is_too_large(client):
    for path, status in [("/api/cases/1/notes", 413), ("/webhooks/twilio/sms", 400)]:
        resp = client.post(path, headers={"Content-Length": "9" * 5000,
                                          "Content-Type": "application/x-www-form-urlencoded"})
        assert resp.status_code == status, path
