"""The dashboard in a real browser: live queue, case page, simulator, presence, escaping."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.sms.simulate import post_text
from tests.dashboard.signin import PASSWORD, add_user

pytestmark = pytest.mark.browser
# The README's pictures are rewritten only when asked (UPDATE_SCREENSHOTS=1), so that a test run
# leaves the checkout as it found it; otherwise they go to a scratch folder, still exercised.
SCREENSHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
               if os.environ.get("UPDATE_SCREENSHOTS") else
               Path(tempfile.gettempdir()) / "textline-screenshots")
TIMEOUT = 10_000
# Headless chromium may refuse to play sound without a gesture; count the attempts instead.
COUNT_PLAYS = """
window.__played = 0;
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {
  window.__played += 1;
  return play.call(this).catch(() => {});
};
"""
UNLABELLED = """
() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
  .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map((el) => el.id || el.name)
"""


def texter(live: Any, phone: str, *texts: str) -> None:
    """Text the live server as Twilio would (signed), one text after another."""
    settings = live.app.state.runtime.settings
    with httpx.Client(timeout=10) as client:
        for body in texts:
            resp = post_text(client, settings, live.url + "/webhooks/twilio/sms", phone, body)
            assert resp.status_code == 200, resp.text


def watched(page: Any) -> Any:
    """Collect script errors, failed loads (CSP refusals among them) and any alert()."""
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: page.problems.append(f"console: {msg.text}")
            if msg.type == "error" else None)
    page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"),
                                      dialog.dismiss()))
    return page


def signed_in_page(browser: Any, live: Any, username: str, contexts: list[Any]) -> Any:
    """A fresh browser context at 1366x768, signed in through the login form by keyboard."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live.url)
    contexts.append(context)
    context.add_init_script(COUNT_PLAYS)
    page = watched(context.new_page())
    from playwright.sync_api import expect

    page.goto("/")
    assert "/login" in page.url
    expect(page.locator("#username")).to_be_focused()  # on arrival, no click needed
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/$"))
    return page


def expect_live(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#live")).to_have_text("Live", timeout=TIMEOUT)


def no_problems(page: Any) -> None:
    assert page.problems == [], page.problems


def test_simulated_text_arrives_live_and_the_operator_answers_and_closes(browser, live, contexts):
    from playwright.sync_api import expect

    add_user(live.app, "alice")
    queue = signed_in_page(browser, live, "alice", contexts)
    expect_live(queue)
    expect(queue.locator("#queue-rows")).to_contain_text("No cases here.")

    sim = watched(queue.context.new_page())
    sim.goto("/simulator")
    phone = sim.input_value("#sim-phone")
    assert re.fullmatch(r"\+447700900\d{3}", phone)
    sim.fill("#sim-body", "someone shouting at people at clapham jn, he is about 40, its now")
    sim.keyboard.press("Enter")
    expect(sim.locator(".sim-theirs").first).to_contain_text("Your reference is TL-",
                                                             timeout=TIMEOUT)
    reference = re.search(r"TL-\d{6}-\d{4}", sim.locator(".sim-theirs").first.inner_text())
    assert reference

    row = queue.locator("#queue-rows tr[data-case-id]")
    expect(row).to_have_count(1, timeout=TIMEOUT)  # arrived without a reload
    expect(row).to_contain_text(reference.group(0))
    expect(row).to_contain_text("Clapham Junction")

    queue.locator("#queue-rows a", has_text=reference.group(0)).click()
    case = queue
    case.wait_for_url(re.compile(r"/cases/\d+$"))
    expect(case.locator(".msg-reporter").first).to_contain_text("someone shouting")
    expect(case.locator(".msg-bot").first).to_contain_text(reference.group(0))
    expect(case.locator("#live-facts")).to_contain_text("Clapham Junction")
    expect(case.locator("#live-facts")).to_contain_text("from “")

    case.locator(".canned-reply", has_text="Officers on the way").click()
    expect(case.locator("#reply-count")).to_contain_text("1 text")
    case.locator("#reply-body").press("End")
    case.keyboard.type(" Which exit are you near?")
    case.locator("#reply-body").press("Control+Enter")
    expect(case.locator(".done")).to_have_text("Text queued for sending.")
    mine = case.locator(".msg-operator").last
    expect(mine).to_contain_text("Officers are on their way")
    expect(mine).to_contain_text("Operator · alice")

    # On the phone: the operator's text, sent by the outbox through the console provider.
    theirs = sim.locator(".sim-theirs").last
    expect(theirs).to_contain_text("Which exit are you near?", timeout=TIMEOUT)
    expect(theirs.locator("small")).to_have_count(0, timeout=TIMEOUT)

    sim.fill("#sim-body", "the main exit, he went towards the buses")
    sim.keyboard.press("Enter")
    expect(sim.locator(".sim-mine").last).to_contain_text("towards the buses", timeout=TIMEOUT)
    sim.set_viewport_size({"width": 900, "height": 700})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sim.screenshot(path=str(SCREENSHOTS / "simulator.png"))
    expect(case.locator(".msg-reporter").last).to_contain_text("towards the buses",
                                                               timeout=TIMEOUT)
    case.fill("#note-body", "CCTV asked to look at the bus station.")
    case.locator("#note button[type=submit]").click()
    expect(case.locator(".msg-note").last).to_contain_text("never texted")
    case.evaluate("window.scrollTo(0, 0)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    case.screenshot(path=str(SCREENSHOTS / "case.png"))

    case.locator("#close summary").click()
    case.fill("#close-outcome", "Officers attended")
    case.locator("#close button[type=submit]").click()
    expect(case.locator(".done")).to_have_text("Case closed.")
    expect(case.locator("#live-head")).to_contain_text("Officers attended")
    expect(case.locator("#reply-body")).to_have_count(0)
    no_problems(case)
    no_problems(sim)


def test_a_p1_arriving_goes_to_the_top_and_alerts(browser, live, contexts):
    from playwright.sync_api import expect

    add_user(live.app, "alice")
    texter(live, "+447700900201", "someone stole my bike from outside luton station",
           "adult", "this morning")
    texter(live, "+447700900202", "man being really aggressive to staff at york station",
           "about 40", "yes now")
    texter(live, "+447700900203", "2 lads smoking weed at bristol temple meads")
    queue = signed_in_page(browser, live, "alice", contexts)
    expect_live(queue)
    # A second operator watches only the general queue: a P1 must still alert them.
    general = signed_in_page(browser, live, "alice", contexts)
    expect_live(general)
    general.select_option("#f-queue", "general")
    general.locator("#filters button").click()
    general.wait_for_url(re.compile(r"queue=general"))
    expect_live(general)
    rows = queue.locator("#queue-rows tr[data-case-id]")
    expect(rows).to_have_count(3)
    expect(queue.locator("#p1-alert")).to_be_hidden()
    plays = queue.evaluate("window.__played")  # the sound control's silent try at load

    texter(live, "+447700900204",
           "girl about 13 in school uniform with two older men at manchester piccadilly "
           "platform 13 right now, she looks scared, they keep giving her vodka")
    expect(rows).to_have_count(4, timeout=TIMEOUT)
    top = rows.first
    expect(top).to_have_attribute("data-priority", "P1")
    expect(top).to_contain_text("Manchester Piccadilly")
    expect(top).to_have_class(re.compile(r"\bflash\b"))
    alert = queue.locator("#p1-alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("New P1 case")
    assert queue.title().startswith("(!) P1")
    assert queue.evaluate("window.__played") == plays + 1
    expect(general.locator("#p1-alert")).to_contain_text("New P1 case", timeout=TIMEOUT)
    expect(general.locator("#queue-rows tr[data-priority=P1]")).to_have_count(0)
    colour = top.evaluate("el => getComputedStyle(el.querySelector('th')).borderLeftColor")
    assert colour == "rgb(179, 0, 27)"
    queue.wait_for_timeout(300)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    queue.screenshot(path=str(SCREENSHOTS / "queue.png"))

    # Filters: the safeguarding and general queues hold none of the P1.
    queue.select_option("#f-queue", "emergency")
    queue.locator("#filters button").click()
    expect(rows).to_have_count(1)
    no_problems(queue)


@pytest.mark.parametrize("server", [{"dashboard_refresh_seconds": 1}], indirect=True)
def test_what_no_event_announced_still_reaches_the_queue_and_the_case(browser, live, contexts):
    from playwright.sync_api import expect

    from app.cases.intake import receive
    from app.inbox.inbound import Inbound
    from app.kit.db import unit_of_work, utcnow
    from app.startup.bootstrap import build_runtime

    add_user(live.app, "alice")
    queue = signed_in_page(browser, live, "alice", contexts)
    expect_live(queue)
    expect(queue.locator("#queue-rows")).to_contain_text("No cases here.")
    # Texts read by another runtime on the same database, whose events reach no dashboard here:
    # as from `textline worker` on SQLite, or a stream that dropped them. No conversation, so no
    # replies: the outbox's events would refresh the pages too.
    elsewhere = build_runtime(live.app.state.runtime.settings)

    def read_elsewhere(n: int, body: str) -> str:
        with unit_of_work(elsewhere.sessions) as session:
            result = receive(session, elsewhere, Inbound(
                sid="SM" + str(n) * 32, phone="+447700900301", to="61016", media=[], body=body),
                utcnow(), converse=False)
            assert result is not None
            return result.case.reference

    try:
        reference = read_elsewhere(1, "boy about 12 alone and crying at leeds station platform 8")
        rows = queue.locator("#queue-rows tr[data-case-id]")
        expect(rows).to_have_count(1, timeout=5_000)  # the page's own reload, every second here
        expect(rows.first).to_contain_text(reference)

        rows.first.locator("a").first.click()
        queue.wait_for_url(re.compile(r"/cases/\d+$"))
        expect(queue.locator("#messages")).to_contain_text("alone and crying")
        read_elsewhere(2, "hes gone onto the train to york now")
        expect(queue.locator("#messages")).to_contain_text("onto the train to york", timeout=5_000)
        # A keyboard user reading the transcript keeps their place through the reloads.
        queue.locator("#messages").focus()
        queue.wait_for_timeout(2_500)
        assert queue.evaluate("document.activeElement.id") == "messages"
    finally:
        elsewhere.engine.dispose()
    no_problems(queue)


def test_a_second_operator_sees_who_else_has_the_case_open(browser, live, contexts):
    from playwright.sync_api import expect

    add_user(live.app, "alice")
    add_user(live.app, "bob")
    texter(live, "+447700900301", "someone shouting at people at leeds station now")
    alice = signed_in_page(browser, live, "alice", contexts)
    alice.locator("#queue-rows a").first.click()
    alice.wait_for_url(re.compile(r"/cases/\d+$"))
    expect(alice.locator("#viewers")).to_be_hidden()

    bob = signed_in_page(browser, live, "bob", contexts)
    expect(bob.locator("#queue-rows")).to_contain_text("open: alice", timeout=TIMEOUT)
    bob.locator("#queue-rows a").first.click()
    bob.wait_for_url(re.compile(r"/cases/\d+$"))
    expect(bob.locator("#viewers")).to_be_visible(timeout=TIMEOUT)
    expect(bob.locator("#viewer-names")).to_have_text("alice")
    expect(alice.locator("#viewers")).to_be_visible(timeout=TIMEOUT)
    expect(alice.locator("#viewer-names")).to_have_text("bob")

    bob.context.close()
    expect(alice.locator("#viewers")).to_be_hidden(timeout=TIMEOUT)
    no_problems(alice)


def test_texter_markup_never_runs(browser, live, contexts):
    from playwright.sync_api import expect

    add_user(live.app, "alice")
    script = "<script>window.__xss = 1; alert('xss')</script> help at kings x"
    image = "<img src=x onerror=\"window.__xss = 2; alert('xss')\"> they are on platform 1"
    texter(live, "+447700900401", script, image)
    page = signed_in_page(browser, live, "alice", contexts)
    expect(page.locator("#queue-rows tr[data-case-id]")).to_have_count(1)
    page.locator("#queue-rows a").first.click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    bodies = page.locator(".msg-reporter .msg-body")
    expect(bodies.nth(0)).to_have_text(script)
    expect(bodies.nth(1)).to_have_text(image)
    assert page.locator("#messages img, #messages script").count() == 0
    # Arriving live must be just as inert as arriving with the page.
    texter(live, "+447700900401", "<svg onload=\"window.__xss = 3\"></svg><b>bold</b>")
    expect(bodies).to_have_count(3, timeout=TIMEOUT)
    expect(bodies.nth(2)).to_have_text("<svg onload=\"window.__xss = 3\"></svg><b>bold</b>")

    sim = watched(page.context.new_page())
    sim.goto("/simulator")
    sim.fill("#sim-phone", "+447700900401")
    sim.locator("#sim-phone").dispatch_event("change")
    expect(sim.locator(".sim-mine").first).to_have_text(script, timeout=TIMEOUT)
    for p in (page, sim):
        assert p.evaluate("window.__xss") is None
        no_problems(p)


def test_keyboard_only_and_fits_a_1366_by_768_screen(browser, live, contexts):
    from playwright.sync_api import expect

    add_user(live.app, "alice")
    texter(live, "+447700900501", "someone shouting at people at leeds station now")
    page = signed_in_page(browser, live, "alice", contexts)
    expect_live(page)
    for _ in range(25):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('#queue-rows') !== null"):
            break
    else:
        raise AssertionError("the first case cannot be reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "reply-body":
            break
    else:
        raise AssertionError("the reply box cannot be reached with Tab")
    page.keyboard.type("Are they still there?")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".msg-operator")).to_contain_text("Are they still there?")

    for path in ("/", page.url, "/simulator"):
        page.goto(path)
        assert page.evaluate(UNLABELLED) == [], path
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, (path, width)
    page.goto("/cases/1")
    box = page.locator("#reply-body").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 768, "reply box below the fold"
    no_problems(page)


def test_overriding_a_999_from_the_case_page(browser, live, contexts):
    from playwright.sync_api import expect

    add_user(live.app, "alice")
    texter(live, "+447700900601", "man with a knife on platform 4 at leeds, happening now")
    page = signed_in_page(browser, live, "alice", contexts)
    page.locator("#queue-rows a").first.click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    expect(page.locator("#live-facts .decision")).to_contain_text("999 · emergency · P1")
    page.locator("#decision summary").click()
    # The queues are the routing file's, and the priorities follow the decision.
    queues = page.locator("#dec-queue option").all_inner_texts()
    assert queues == ["emergency", "safeguarding", "general"]
    expect(page.locator("#dec-priority")).to_have_value("P1")
    page.select_option("#dec-decision", "101")
    expect(page.locator("#dec-priority")).to_have_value("P2")
    expect(page.locator("#dec-priority option[value=P1]")).to_be_disabled()
    page.select_option("#dec-queue", "general")
    page.select_option("#dec-priority", "P3")
    page.fill("#dec-reason", "x")
    page.locator("#decision button[type=submit]").click()
    # Not hers to stand down until she claims it; what she chose is kept.
    expect(page.locator("#decision-error")).to_contain_text("claim the case first")
    expect(page.locator("#dec-decision")).to_have_value("101")
    expect(page.locator("#dec-priority")).to_have_value("P3")
    page.locator("#claim button").click()
    expect(page.locator(".done")).to_have_text("The case is yours.")

    page.locator("#decision summary").click()
    page.select_option("#dec-decision", "101")
    page.select_option("#dec-queue", "general")
    page.fill("#dec-reason", "x")
    page.locator("#decision button[type=submit]").click()
    expect(page.locator("#decision-error")).to_contain_text("at least 3 words")
    page.fill("#dec-reason", "spoke to caller: it was a toy, and yesterday")
    page.locator("#decision button[type=submit]").click()
    expect(page.locator(".done")).to_have_text("Decision overridden.")
    expect(page.locator("#live-facts .decision")).to_contain_text("101 · general · P2")
    earlier = page.locator("#decision-history li")
    expect(earlier).to_have_count(1)
    expect(earlier.first).to_contain_text("999 · emergency · P1")
    expect(earlier.first).to_contain_text("by dispatcher")
    assert page.evaluate(UNLABELLED) == []
    # The refused posts were answered 403 and 422, which the browser reports; nothing else.
    assert [p for p in page.problems if "status of 403" not in p and "status of 422" not in p] == []
