"""Exports with personal data only by a POST carrying the session's CSRF token.

The session cookie is SameSite=Lax, so a browser sends it with any top-level GET another site
makes it follow. Such a GET, with include_pii=true and the other site's reason, must neither
produce unmasked numbers nor write an audit event; the dashboard's form posts instead."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from app.kit.db import utcnow
from tests.cases.test_actions_helpers import audits, open_case
from tests.dashboard.signin import add_user, page_csrf, post_login
from tests.helpers import token_for

BASE = "https://textline.example.org"
ALICE = "+447700900123"
REASON = "attacker wrote this"
# What a browser sends when a link on another site is followed.
CROSS_SITE = {"Referer": "https://evil.example/page", "Sec-Fetch-Site": "cross-site",
              "Sec-Fetch-Mode": "navigate"}


def today() -> str:
    return utcnow().astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d")


@pytest.fixture
def sam(app: Any, client: TestClient) -> Iterator[tuple[TestClient, str]]:
    """A case from Alice, and Sam, a supervisor, signed in: (his browser, its CSRF token)."""
    open_case(client, app, "man with a knife at leeds now", ALICE)
    add_user(app, "sam", "supervisor")
    with TestClient(app, base_url=BASE) as browser:
        assert post_login(browser, "sam").status_code == 303
        yield browser, page_csrf(browser, "/supervisor")


def pii_query(**extra: str) -> dict[str, str]:
    return {"kind": "cases", "fmt": "csv", "from": today(), "to": today(),
            "include_pii": "true", "reason": REASON, **extra}


def test_a_cross_site_get_of_the_dashboard_export_exports_nothing(app, sam):
    browser, _ = sam
    resp = browser.get("/supervisor/export", params=pii_query(), headers=CROSS_SITE)
    # The browser follows every redirect, as it would; it ends on the form, not on a file.
    assert resp.status_code == 200
    assert resp.url.path == "/supervisor" and 'id="export"' in resp.text
    assert "attachment" not in resp.headers.get("content-disposition", "")
    assert ALICE not in resp.text and REASON not in resp.text
    assert audits(app, "export.created") == []


def test_a_cross_site_get_of_the_api_export_with_the_cookie_is_refused(app, client, sam):
    browser, _ = sam
    query = {"from": today(), "to": today(), "include_pii": "true", "reason": REASON}
    for path in ("/api/exports/cases.csv", "/api/exports/messages.ndjson"):
        resp = browser.get(path, params=query, headers=CROSS_SITE)
        assert resp.status_code == 403 and "export form" in resp.json()["detail"]
        assert ALICE not in resp.text
    # A reason alone would still put the other site's words in the log.
    masked_with_reason = browser.get("/api/exports/cases.csv", headers=CROSS_SITE,
                                     params={"from": today(), "to": today(), "reason": REASON})
    assert masked_with_reason.status_code == 403
    assert audits(app, "export.created") == []
    # What a GET may still give a cookie: the masked export, recorded as such.
    masked = browser.get("/api/exports/cases.csv", params={"from": today(), "to": today()})
    assert masked.status_code == 200 and ALICE not in masked.text
    [event] = audits(app, "export.created")
    assert event.data["include_pii"] is False and event.data["reason"] is None
    # A token is sent only by a program that holds it, never by a link: it may still ask by GET.
    token = token_for(app, "supervisor", "sally")
    resp = client.get("/api/exports/cases.csv", headers=token,
                      params={"from": today(), "to": today(), "include_pii": "true",
                              "reason": "court order 3"})
    assert resp.status_code == 200 and ALICE in resp.text
    assert [(e.actor, e.data["via"], e.data["include_pii"])
            for e in audits(app, "export.created")] == [("sam", "api", False),
                                                        ("sally", "api", True)]


def test_a_post_without_the_token_or_from_another_site_is_refused(app, sam):
    browser, csrf = sam
    form = pii_query()
    no_token = browser.post("/supervisor/export", data=form)
    assert no_token.status_code == 403 and ALICE not in no_token.text
    elsewhere = browser.post("/supervisor/export", data={**form, "csrf_token": csrf},
                             headers={"Origin": "https://evil.example"})
    assert elsewhere.status_code == 403 and ALICE not in elsewhere.text
    assert audits(app, "export.created") == []


def test_the_form_posted_with_its_token_exports_personal_data_audited(app, sam):
    browser, csrf = sam
    resp = browser.post("/supervisor/export", data={**pii_query(reason="subject access 7"),
                                                    "csrf_token": csrf},
                        headers={"Origin": BASE})
    assert resp.status_code == 200 and ALICE in resp.text
    assert resp.headers["content-disposition"].startswith("attachment;")
    [event] = audits(app, "export.created")
    assert event.actor == "sam" and event.data["include_pii"] is True
    assert event.data["reason"] == "subject access 7" and event.data["via"] == "dashboard"

