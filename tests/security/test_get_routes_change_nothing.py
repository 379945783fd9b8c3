"""No GET changes anything another site could choose.

Every GET route the app has is followed as a link from another site would make a signed-in
supervisor's browser follow it (cookie sent, redirects followed), with every parameter that
could ask for something: personal data, a reason, a user to act on. Afterwards no table has
changed but the audit log, and the audit log holds only records that a read happened, none
carrying the other site's words or an unmasked export. The routes are read from the app itself,
so a GET route added later is walked too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Route

from app.kit.db import Base, utcnow
from app.models import AuditEvent
from tests.cases.test_actions_helpers import open_case
from tests.dashboard.signin import add_user, post_login
from tests.helpers import token_for

BASE = "https://textline.example.org"
ALICE = "+447700900123"
MARK = "evil-example-reason"
CROSS_SITE = {"Referer": "https://evil.example/", "Sec-Fetch-Site": "cross-site",
              "Sec-Fetch-Mode": "navigate"}
# An event stream never ends, so it cannot be fetched like a page; what it keeps (who has a case
# open) lives in the server's memory only, and it writes nothing to the database.
STREAMS = {"/events"}
# Bookkeeping a read is meant to do: when a session or token was last used.
TOUCHED = {("web_sessions", "last_seen_at"), ("api_tokens", "last_used_at")}
# The audit chain's head moves with every event; the events themselves are checked one by one.
CHAIN = {"audit_events", "audit_head"}


def get_routes(app: Any) -> Iterator[str]:
    def walk(routes: list[Any]) -> Iterator[str]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes)
            elif isinstance(route, Route) and "GET" in (route.methods or ()):
                yield route.path

    yield from walk(app.routes)


def snapshot(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    tables = {}
    with app.state.sessions() as s:
        for table in Base.metadata.sorted_tables:
            if table.name in CHAIN:
                continue
            columns = [c for c in table.columns if (table.name, c.name) not in TOUCHED]
            rows = s.execute(select(*columns)).all()
            tables[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return tables


def test_no_get_route_changes_state(app, client):
    case_id = open_case(client, app, "man with a knife at leeds now", ALICE)
    add_user(app, "olly", "operator")
    token_for(app, "supervisor", "sally")  # a token, so its table is not empty
    add_user(app, "sam", "supervisor")
    day = utcnow().astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d")
    query = {"include_pii": "true", "reason": MARK, "from": day, "to": day, "kind": "cases",
             "fmt": "csv", "username": "olly", "done": "unlocked", "name": MARK,
             "next": "//evil.example/", "phone": ALICE, "case": str(case_id)}
    paths = {"{case_id}": str(case_id), "{kind}": "cases", "{fmt}": "csv"}
    walked = []
    with TestClient(app, base_url=BASE) as browser:
        assert post_login(browser, "sam").status_code == 303
        browser.get("/supervisor")  # anything a first page does once, done before the snapshot
        with app.state.sessions() as s:
            last_seq = s.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())
                                 ).scalars().first()
        before = snapshot(app)
        for route in get_routes(app):
            if route in STREAMS:
                continue
            path = route
            for name, value in paths.items():
                path = path.replace(name, value)
            resp = browser.get(path, params=query, headers=CROSS_SITE)
            assert resp.status_code < 500, (route, resp.status_code)
            if "attachment" in resp.headers.get("content-disposition", ""):
                assert ALICE not in resp.text, f"{route} gave a file with an unmasked number"
            walked.append(route)
    assert {"/supervisor/export", "/api/exports/{kind}.{fmt}", "/cases/{case_id}",
            "/supervisor/accounts/reset-password"} <= set(walked)
    assert len(walked) >= 20
    assert snapshot(app) == before
    with app.state.sessions() as s:
        new = list(s.execute(select(AuditEvent).where(AuditEvent.seq > last_seq)).scalars())
    for event in new:
        assert MARK not in repr(event.data), (event.action, event.data)
        assert not (event.data or {}).get("include_pii"), (event.action, event.data)
