"""The queue's rows, its order, the supervisors' alert banner and the claim cap, in chromium."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.auth.service import Principal
from app.cases import actions
from app.cases.alerts import check_alerts
from app.kit.db import utcnow
from app.models import Case, User
from tests.dashboard.signin import add_user
from tests.dashboard.test_browser import (
    TIMEOUT,
    expect_live,
    no_problems,
    signed_in_page,
    texter,
    watched,
)

pytestmark = pytest.mark.browser
P1 = "a man with a knife on platform 2 at leeds station now"
# The same danger at another station: not linked to the first as one incident.
P1_ELSEWHERE = "a man with a knife on platform 1 at wakefield westgate now"


def _case_ids(live: Any, count: int) -> list[int]:
    """The cases' ids, once the server has read the texts that open `count` of them."""
    def ids() -> list[int]:
        with live.app.state.sessions() as s:
            return list(s.execute(select(Case.id).order_by(Case.id)).scalars())
    _wait_for(lambda: len(ids()) == count)
    return ids()


def _claim(live: Any, case_id: int, username: str) -> None:
    rt = live.app.state.runtime
    with rt.sessions() as s:
        user = s.execute(select(User).where(User.username == username)).scalar_one()
        who = Principal(user.id, user.username, user.role, "session")
    with rt.work() as session:
        actions.claim(session, rt, case_id, who, now=utcnow())


def _wait_for(condition: Any, timeout: float = TIMEOUT / 1000) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_rows_tell_the_story_in_the_stated_order(browser, live, contexts):
    from playwright.sync_api import expect

    add_user(live.app, "alice")
    add_user(live.app, "bob")
    texter(live, "+447700900801", "someone shouting at york, its now")
    texter(live, "+447700900802", P1)
    texter(live, "+447700900803", P1_ELSEWHERE, "<b>call me</b> on 07700 900 555 please")
    ids = _case_ids(live, 3)
    _claim(live, ids[1], "bob")  # a P1 claimed goes below the P1 nobody has

    queue = signed_in_page(browser, live, "alice", contexts)
    expect_live(queue)
    rows = queue.locator("#queue-rows tr[data-case-id]")
    expect(rows).to_have_count(3, timeout=TIMEOUT)
    assert [rows.nth(i).get_attribute("data-case-id") for i in range(3)] == \
        [str(ids[2]), str(ids[1]), str(ids[0])]
    expect(queue.locator("#queue-sort")).to_contain_text("P1 not yet claimed")

    newest = rows.nth(0)
    expect(newest.locator("q.latest")).to_have_text("<b>call me</b> on [number] please")
    risk = newest.locator(".tag-risk", has_text="weapon")
    assert "knife" in (risk.get_attribute("title") or "")
    risk.focus()  # the words are reachable from the keyboard, not only by a mouse
    expect(risk).to_be_focused()
    expect(rows.nth(1).locator("td.with")).to_contain_text("bob")
    expect(rows.nth(0).locator("td.with")).to_contain_text("nobody")
    assert queue.locator("#queue-rows b").count() == 0  # the texter's markup stays text
    no_problems(queue)


def test_an_unclaimed_p1_alert_reaches_a_supervisor_page_live(browser, live, contexts):
    from playwright.sync_api import expect

    add_user(live.app, "sam", "supervisor")
    texter(live, "+447700900811", P1)
    (case_id,) = _case_ids(live, 1)
    queue = signed_in_page(browser, live, "sam", contexts)
    expect_live(queue)
    events = live.app.state.runtime.events
    streams = events.subscriber_count
    page = watched(queue.context.new_page())
    page.goto("/supervisor")
    banner = page.locator("#sup-alerts")
    expect(banner).to_be_hidden()
    _wait_for(lambda: events.subscriber_count > streams)  # this page's own stream is open

    assert check_alerts(live.app.state.runtime, utcnow() + timedelta(seconds=90)) == 1
    expect(banner).to_be_visible(timeout=TIMEOUT)
    expect(banner.locator(f'li[data-case-id="{case_id}"]')).to_contain_text("nobody has claimed")
    page.goto("/")
    expect(page.locator(f'tr[data-case-id="{case_id}"] .tag-alert')).to_have_text(
        "unclaimed too long")
    expect(page.locator("#sup-alerts")).to_be_visible(timeout=TIMEOUT)  # on every page
    no_problems(page)


@pytest.mark.parametrize("server", [{"max_claims": 1}], indirect=True)
def test_a_claim_beyond_the_cap_is_refused_with_the_reason(browser, live, contexts):
    from playwright.sync_api import expect

    add_user(live.app, "alice")
    texter(live, "+447700900821", "someone shouting at york, its now")
    texter(live, "+447700900822", "someone shouting at leeds, its now")
    first, second = _case_ids(live, 2)
    page = signed_in_page(browser, live, "alice", contexts)
    expect_live(page)  # signed in: the queue is live
    page.goto(f"/cases/{first}")
    page.locator("#claim button").click()
    page.wait_for_url(f"**/cases/{first}?done=claim*")
    page.goto(f"/cases/{second}")
    page.locator("#claim button").click()
    expect(page.locator("#claim-error")).to_contain_text("already hold 1 open case")
    with live.app.state.sessions() as s:
        assert s.get(Case, second).assigned_to_id is None
    # The refusal is the page's own 409, which chromium logs as a failed load; nothing else.
    assert [p for p in page.problems if "status of 409" not in p] == [], page.problems
