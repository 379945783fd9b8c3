"""/docs comes from files installed with the package, under the dashboard's own
Content-Security-Policy: no inline script, nothing from another origin. /redoc (which cannot run
under that policy) leads there. /openapi.json stays."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from app.kit.middleware import SECURITY_HEADERS
from tests.dashboard.conftest import browser, contexts, live, server  # noqa: F401
from tests.dashboard.test_browser import TIMEOUT, watched

CSP = dict(SECURITY_HEADERS)[b"content-security-policy"].decode()


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[str | None, str]] = []  # (src, inline text)
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [v for k, v in found.items() if k in ("src", "href") and v]
        if tag == "script":
            self.scripts.append((found.get("src"), ""))
            self._in_script = True
        if any(k.startswith("on") for k in found) or "style" in found:
            self.scripts.append((None, f"inline attribute on <{tag}>"))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            src, _ = self.scripts[-1]
            self.scripts[-1] = (src, data)


def test_the_docs_page_keeps_the_policy_and_loads_only_our_own_files(client):
    resp = client.get("/docs")
    assert resp.status_code == 200
    assert resp.headers["content-security-policy"] == CSP
    tags = Tags()
    tags.feed(resp.text)
    assert tags.scripts and all(src and not text for src, text in tags.scripts), tags.scripts
    local = [u for u in tags.urls if u != "data:,"]  # the empty favicon
    assert local and all(u.startswith("/") and not u.startswith("//") for u in local), local
    assert not re.search(r"https?://", resp.text)
    for url in local:  # each one served here, from the installed package or our static
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-security-policy"] == CSP


def test_redoc_leads_to_the_docs_page(client):
    resp = client.get("/redoc", follow_redirects=False)
    assert resp.status_code == 308 and resp.headers["location"] == "/docs"
    assert resp.headers["content-security-policy"] == CSP


def test_the_openapi_schema_is_still_served(client):
    resp = client.get("/openapi.json")
    assert resp.status_code == 200
    assert resp.json()["openapi"].startswith("3.") and "/api/cases" in resp.json()["paths"]


@pytest.mark.browser
def test_the_docs_render_and_work_in_a_browser_under_the_policy(browser, live,  # noqa: F811
                                                                 contexts):  # noqa: F811
    context = browser.new_context(base_url=live.url)
    contexts.append(context)
    page: Any = watched(context.new_page())
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    page.goto("/redoc")
    assert page.url == live.url + "/docs"
    operation = page.locator(".opblock-summary-path[data-path='/healthz']")
    operation.wait_for(timeout=TIMEOUT)
    operation.click()  # open it, try it out, run it: the page's own requests, same origin
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    page.locator(".live-responses-table tr.response .response-col_status").first.wait_for(timeout=TIMEOUT)
    assert "200" in page.locator(".live-responses-table tr.response .response-col_status").first.inner_text()
    assert page.problems == [], page.problems  # a script or style the policy refused among them
    assert requested and all(url.startswith(live.url) for url in requested), requested
