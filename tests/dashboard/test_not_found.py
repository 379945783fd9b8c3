"""Unknown addresses: the dashboard's own 404 page for a browser, JSON for the API."""

from __future__ import annotations

import pytest

from tests.dashboard.signin import sign_in
from tests.helpers import token_for

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize("path", ["/cases/abc", "/cases/0", "/cases/99999999999", "/nowhere",
                                  "/cases/1/nothing", "/supervisor/nothing"])
def test_a_person_in_a_browser_gets_the_dashboards_page(app, client, path):
    sign_in(client, app)
    resp = client.get(path, headers=HTML)
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in resp.text
    assert 'href="/"' in resp.text and "alice" in resp.text  # the menu of who is signed in
    assert "Content-Security-Policy" in resp.headers


def test_signed_out_an_unknown_page_is_still_a_page(app, client):
    resp = client.get("/nowhere", headers=HTML)
    assert resp.status_code == 404 and "<h1>Page not found</h1>" in resp.text
    assert "Sign out" not in resp.text
    # A case address asks for a sign-in first, then answers as above.
    assert client.get("/cases/abc", headers=HTML, follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path, status", [("/api/cases/abc", 422), ("/api/nowhere", 404),
                                          ("/webhooks/nowhere", 404), ("/static/none.css", 404)])
def test_api_requests_keep_json_whatever_they_accept(app, client, path, status):
    headers = {**HTML, **token_for(app, "operator", "alice")}
    resp = client.get(path, headers=headers)
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith("application/json")
    assert isinstance(resp.json()["detail"], str | list)


def test_without_an_html_accept_unknown_pages_answer_json(app, client):
    resp = client.get("/nowhere", headers={"Accept": "application/json"})
    assert resp.status_code == 404 and resp.json() == {"detail": "Not Found"}
