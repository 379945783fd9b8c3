"""/supervisor in a real browser: figures, charts, the export form and a download."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.signin import PASSWORD, add_user
from tests.dashboard.test_browser import no_problems, texter, watched

pytestmark = pytest.mark.browser
TIMEOUT = 10_000


def supervisor_page(browser: Any, live: Any, contexts: list[Any]) -> Any:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live.url,
                                  accept_downloads=True)
    contexts.append(context)
    page = watched(context.new_page())
    page.goto("/supervisor")
    assert "/login" in page.url
    page.fill("#username", "sam")
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(re.compile(r"/supervisor$"))
    return page


def test_supervisor_page_in_a_browser(browser, live, contexts, tmp_path: Path):
    from playwright.sync_api import expect

    add_user(live.app, "sam", "supervisor")
    texter(live, "+447700900123", "man with a knife at leeds now")
    texter(live, "+447700900456", "lads smoking at york")
    page = supervisor_page(browser, live, contexts)
    expect(page.locator("#t-cases")).to_have_text("2")
    expect(page.locator("#t-999")).to_have_text("1")
    expect(page.locator("#t-waiting")).to_have_text("2")
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(2)
    for i in range(2):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 100
    assert page.locator('#chart-volume rect[data-series="999 flags"]').count() >= 1
    # the page's own stylesheet applied (served same-origin, allowed by the CSP)
    cards = page.locator(".sv-cards").evaluate("el => getComputedStyle(el).display")
    assert cards == "grid"
    assert page.locator("#per-day tbody tr").count() == 2  # today: emergency and general
    page.screenshot(path=str(tmp_path / "supervisor.png"), full_page=True)

    page.select_option("#e-kind", "messages")
    page.check("#e-pii")
    page.click("#export button[type=submit]")
    expect(page.locator("#export-error")).to_contain_text("need a reason")
    # the refused form comes back as it was sent, the reason box ready to type in
    expect(page.locator("#e-kind")).to_have_value("messages")
    expect(page.locator("#e-pii")).to_be_checked()
    expect(page.locator("#e-reason")).to_be_focused()
    page.fill("#e-reason", "browser test review")
    with page.expect_download(timeout=TIMEOUT) as info:
        page.click("#export button[type=submit]")
    download = info.value
    assert re.fullmatch(r"textline-messages-\d{8}-\d{8}\.csv", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    text = saved.read_text()
    assert text.startswith("id,case_id,case_reference") and "man with a knife" in text
    assert "+447700900123" in text  # unmasked, in the reporter_phone column
    # the refused form answered 400 on purpose; the browser logs that, and nothing else
    refused = [p for p in page.problems if "status of 400" in p]
    assert len(refused) == 1
    page.problems = [p for p in page.problems if p not in refused]
    no_problems(page)
