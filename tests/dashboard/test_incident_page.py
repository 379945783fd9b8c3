"""Incidents in a real browser: one row in the queue for a crowd's reports, the "maybe the
same" proposal linked from the case page, the incident page, and a reply to all of them that
never reaches the discreet reporter."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from sqlalchemy import select

from app.models import AuditEvent, Case, Message
from tests.dashboard.signin import add_user
from tests.dashboard.test_browser import (
    TIMEOUT,
    expect_live,
    no_problems,
    signed_in_page,
    texter,
)

pytestmark = pytest.mark.browser

FIGHT = ["fight on the 14:32 york to leeds coach C, lads punching each other",
         "massive fight on 14:32 from york to leeds, coach c",
         "cant talk they can see my phone. fight on the 14:32 york to leeds coach C"]
# Another coach of the same train: perhaps the same fight, perhaps not; a person decides.
OTHER_COACH = "theres a fight in coach A of the 14:32 york to leeds"


def signed_in(browser: Any, live: Any, username: str, contexts: list[Any]) -> Any:
    """On the queue, signed in ("/login?next=/" also ends in a slash: wait for the queue)."""
    page = signed_in_page(browser, live, username, contexts)
    page.wait_for_url(live.url + "/")
    return page


def _case_of(live: Any, phone: str) -> Case:
    with live.app.state.sessions() as session:
        return session.execute(select(Case).join(Case.reporter).where(
            Case.reporter.property.mapper.class_.phone == phone)).scalar_one()


def test_incident_in_the_queue_proposal_linked_and_a_reply_to_all(browser, live, contexts) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    add_user(live.app, "alice")
    page = signed_in(browser, live, "alice", contexts)
    expect_live(page)
    phones = [f"+4477009003{i:02d}" for i in range(4)]
    for phone, body in zip(phones, FIGHT, strict=False):
        texter(live, phone, body)

    incident_row = page.locator("#queue-rows tr[data-incident-id]")
    expect(incident_row).to_have_count(1, timeout=TIMEOUT)  # arrived without a reload
    expect(incident_row).to_contain_text("3 texters", timeout=TIMEOUT)
    expect(incident_row).to_contain_text("P1")
    expect(page.locator("#queue-rows tr[data-case-id]")).to_have_count(0)

    texter(live, phones[3], OTHER_COACH)
    expect(page.locator("#queue-rows tr[data-case-id]")).to_have_count(1, timeout=TIMEOUT)
    apart = _case_of(live, phones[3])
    assert apart.incident_id is None  # never linked silently

    page.goto(f"/cases/{apart.id}")
    proposal = page.locator("form.proposal")
    expect(proposal).to_have_count(1)
    expect(proposal).to_contain_text(re.compile(r"Maybe the same as TL-\d{6}-\d{4}"))
    expect(proposal).to_contain_text("both violence")
    proposal.locator("input[name=reason]").fill("same fight, moved down the train")
    proposal.locator("button").click()
    page.wait_for_url(re.compile(r"/incidents/\d+\?done=link"))
    expect(page.locator(".done")).to_have_text("Linked.")
    expect(page.locator("#incident-texters")).to_have_text("4 texters")
    expect(page.locator(".incident-case")).to_have_count(4)
    expect(page.locator("#incident-facts")).to_contain_text("“coach A of the 14:32 york to leeds”")
    expect(page.locator("#incident-facts")).to_contain_text("“fight”")
    expect(page.locator("#incident-timeline .msg-reporter")).to_have_count(4)
    left_out = page.locator("#reply-left-out")
    expect(left_out).to_contain_text("discreet")

    page.select_option("#reply-to", "all")
    page.fill("#reply-body", "Officers are on their way")
    page.locator("#reply button[type=submit]").click()
    expect(page.locator(".done")).to_have_text("Text queued for sending.")
    expect(page.locator("#incident-timeline .msg-operator")).to_have_count(3, timeout=TIMEOUT)
    with live.app.state.sessions() as session:
        texted = set(session.execute(select(Case.reporter_id).join(
            Message, Message.case_id == Case.id).where(
            Message.author == "operator:alice")).scalars())
    discreet = _case_of(live, phones[2])
    assert discreet.discreet and discreet.reporter_id not in texted and len(texted) == 3

    # The timeline is every report's transcript: each counts as read (the one whose case page
    # alice had just opened folded into that read).
    with live.app.state.sessions() as session:
        read = session.execute(select(AuditEvent.case_id, AuditEvent.data).where(
            AuditEvent.action == "case.viewed", AuditEvent.actor == "alice")).all()
    assert {case_id for case_id, _ in read} == {_case_of(live, p).id for p in phones}
    assert sum(data["via"] == "incident" for _, data in read) == 3

    # The case page of any report says it is part of a 999 incident.
    page.goto(f"/cases/{_case_of(live, phones[1]).id}")
    expect(page.locator("#case-incident")).to_contain_text("A report of this incident reached 999")
    no_problems(page)


def test_a_999_reached_by_another_report_shows_live_on_a_case_page_left_open(
        browser, live, contexts) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    add_user(live.app, "bob")
    page = signed_in(browser, live, "bob", contexts)
    expect_live(page)
    phones = [f"+4477009004{i:02d}" for i in range(3)]
    texter(live, phones[0], "theres a fight on the 10:15 york to leeds")
    texter(live, phones[1], "a fight on the 10:15 york to leeds")
    expect(page.locator("#queue-rows tr[data-incident-id]")).to_contain_text(
        "2 texters", timeout=TIMEOUT)
    first = _case_of(live, phones[0]).id
    page.goto(f"/cases/{first}")
    # The page's event stream is open once the server counts bob among its viewers.
    deadline = time.monotonic() + TIMEOUT / 1000
    while "bob" not in live.app.state.presence.viewers(first):
        assert time.monotonic() < deadline, "the case page never opened its event stream"
        time.sleep(0.05)
    banner = page.locator("#case-incident")
    expect(banner).to_contain_text("One of 2 reports")
    expect(banner).not_to_contain_text("reached 999")

    texter(live, phones[2], "massive fight happening now on the 10:15 york to leeds")
    expect(banner).to_contain_text("A report of this incident reached 999", timeout=TIMEOUT)
    expect(banner).to_have_attribute("role", "alert")
    assert "?" not in page.url  # no reload: the page heard it
    no_problems(page)
