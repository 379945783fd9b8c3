"""In a real browser: the outcome texted from the close form, the case page at 1366x768 with a
long conversation, the sound control, the simulator on a 360 px phone, and the 404 page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.inbox.reader import process_pending
from app.kit.db import unit_of_work, utcnow
from app.models import Case, Message
from tests.dashboard.signin import _CSRF, PASSWORD, add_user
from tests.dashboard.test_browser import (
    TIMEOUT,
    expect_live,
    no_problems,
    signed_in_page,
    texter,
    watched,
)

pytestmark = pytest.mark.browser

# Where each part of the case page is, and whether the page itself can scroll.
LAYOUT = """
() => {
  const box = (sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                         return {top: r.top, bottom: r.bottom}; };
  const items = document.querySelectorAll('#messages > li');
  const last = items[items.length - 1].getBoundingClientRect();
  return {head: box('#live-head h1'), first: box('#first-report'), list: box('#messages'),
          last: {top: last.top, bottom: last.bottom}, reply: box('#reply-body'),
          send: box('#reply button[type=submit]'), scrollY: window.scrollY,
          pageHeight: document.scrollingElement.scrollHeight, count: items.length};
}
"""


# Chromium refuses play() until a press on the page (its autoplay policy), but Playwright's own
# look-ups run in the page as if the user had acted, which lifts the refusal. This keeps it as
# a person sees it: play() is refused until a real press or key (a trusted event).
AUTOPLAY_POLICY = """
(() => {
  let pressed = false;
  const press = (ev) => { if (ev.isTrusted) pressed = true; };
  addEventListener("pointerdown", press, true);
  addEventListener("keydown", press, true);
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    if (!pressed) {
      return Promise.reject(new DOMException(
        "play() failed because the user didn't interact with the document first.",
        "NotAllowedError"));
    }
    return play.call(this);
  };
})();
"""


def signed_in_without_a_gesture(browser: Any, live: Any, username: str,
                                contexts: list[Any], **options: Any) -> Any:
    """A page signed in by HTTP alone: no press or key on the site yet, so the browser's
    autoplay policy still refuses sound, as for an operator who has just opened the queue."""
    context = browser.new_context(base_url=live.url, **options)
    contexts.append(context)
    token = _CSRF.search(context.request.get("/login").text()).group(1)  # type: ignore[union-attr]
    resp = context.request.post("/login", form={"username": username, "password": PASSWORD,
                                                "csrf_token": token, "next": "/"})
    assert resp.ok
    return watched(context.new_page())


def long_case(live: Any, phone: str, count: int) -> int:
    """A case of `count` messages: the texter's first report, then texter and operator in turn."""
    texter(live, phone, "two men following a girl about 14 at leeds station, she looks scared, "
                        "they keep grabbing her arm. platform 8 now")
    process_pending(live.app.state.runtime)  # beside the server's own reader: either may read it
    with unit_of_work(live.app.state.sessions) as s:
        case = s.execute(select(Case)).scalar_one()
        have = len(s.execute(select(Message.id).where(Message.case_id == case.id)).all())
        start = utcnow()
        for n in range(count - have):
            inbound = n % 2 == 0
            s.add(Message(case_id=case.id, direction="inbound" if inbound else "outbound",
                          author="reporter" if inbound else "operator:alice",
                          body=(f"update {n}: they moved towards the stairs by the cafe"
                                if inbound else f"Thanks. Officers are close. Question {n}?"),
                          status="received" if inbound else "sent",
                          created_at=start + timedelta(seconds=n)))
        return case.id


def test_the_close_form_texts_the_outcome_to_the_texter(browser, live, contexts):
    from playwright.sync_api import expect

    add_user(live.app, "alice")
    texter(live, "+447700900701", "man shouting at staff at york station, about 40, now")
    page = signed_in_page(browser, live, "alice", contexts)
    page.locator("#queue-rows a").first.click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    page.locator("#close summary").click()
    expect(page.locator("#close-notify")).to_be_checked()
    page.fill("#close-outcome", "Passed to local force")
    text = page.locator("#close-text")
    expect(text).to_have_value(re.compile(r"^Update on your report TL-\d{6}-\d{4}: we have "
                                          r"passed it to the local police force"))
    expect(page.locator("#close-count")).to_contain_text("2 texts")
    # Edited before sending: the operator's words go, not the canned ones.
    text.fill("We have passed your report to West Yorkshire Police. Thank you for texting us.")
    expect(page.locator("#close-count")).to_contain_text("1 text")
    page.locator("#close button[type=submit]").click()
    expect(page.locator(".done")).to_have_text("Case closed.")
    assert "#" not in page.url and "done=" not in page.url
    sent = page.locator(".msg-operator").last
    expect(sent).to_contain_text("passed your report to West Yorkshire Police")
    # The outbox sends it through the console provider; the transcript follows live.
    expect(sent.locator(".status")).to_have_text("sent", timeout=TIMEOUT)
    with live.app.state.sessions() as s:
        [message] = s.execute(select(Message).where(Message.author == "operator:alice")).scalars()
    assert message.provider_sid.startswith("CONSOLE") and message.status == "sent"
    expect(page.locator("#live-head")).to_contain_text("Passed to local force")
    no_problems(page)


def test_a_20_message_case_fits_1366_by_768_and_actions_keep_the_view(browser, live, contexts):
    from playwright.sync_api import expect

    add_user(live.app, "alice")
    case_id = long_case(live, "+447700900702", 20)
    page = signed_in_page(browser, live, "alice", contexts)
    expect_live(page)
    page.locator(f"#queue-rows tr[data-case-id='{case_id}'] a").first.click()
    page.wait_for_url(re.compile(rf"/cases/{case_id}$"))

    def check() -> None:
        at = page.evaluate(LAYOUT)
        assert at["count"] == 20
        assert at["scrollY"] == 0 and at["pageHeight"] <= 768, at  # the page does not scroll
        assert 0 <= at["head"]["top"] and at["head"]["bottom"] <= 768, at
        assert at["first"]["top"] >= at["list"]["top"] - 1, at  # pinned at the top of the list
        assert at["first"]["bottom"] < at["last"]["top"], at  # the newest below it, not under
        assert at["last"]["bottom"] <= at["list"]["bottom"] + 1, at
        assert at["reply"]["bottom"] <= 768 and at["send"]["bottom"] <= 768, at

    check()
    expect(page.locator("#first-report")).to_contain_text("two men following a girl")
    expect(page.locator("#messages > li").last).to_contain_text("Question 17?")
    # Home in the transcript reaches the start; the first report never left the top.
    page.locator("#messages").focus()
    page.keyboard.press("Home")
    page.wait_for_function("document.getElementById('messages').scrollTop === 0")
    expect(page.locator("#messages > li").nth(1)).to_be_in_viewport()
    page.keyboard.press("End")
    expect(page.locator("#messages > li").last).to_be_in_viewport()

    page.locator("#reply-body").fill("Are you somewhere safe?")
    page.locator("#reply-body").press("Control+Enter")
    expect(page.locator(".done")).to_have_text("Text queued for sending.")
    assert "#" not in page.url
    expect(page.locator("#reply-body")).to_be_focused()  # ready for the next text
    expect(page.locator("#messages > li").last).to_contain_text("Are you somewhere safe?")
    at = page.evaluate(LAYOUT)
    assert at["scrollY"] == 0 and at["head"]["top"] >= 0, at

    page.locator("#note-body").fill("CCTV asked for platform 8.")
    page.locator("#note button[type=submit]").click()
    expect(page.locator(".done")).to_have_text("Note added.")
    assert page.evaluate("window.scrollY") == 0
    expect(page.locator("#live-head h1")).to_be_in_viewport()
    no_problems(page)


def test_the_sound_control_says_what_will_happen(browser, live, contexts):
    from playwright.sync_api import expect

    add_user(live.app, "alice")
    page = signed_in_without_a_gesture(browser, live, "alice", contexts,
                                       viewport={"width": 1366, "height": 768})
    page.context.add_init_script(AUTOPLAY_POLICY)
    page.goto("/")
    expect_live(page)
    sound = page.locator("#sound")
    # The browser refuses sound until a press: the control says so, not "on".
    expect(sound).to_have_text("Sound: blocked (press to allow)")
    expect(sound).to_have_attribute("aria-pressed", "false")
    texter(live, "+447700900703", "man with a knife on platform 2 at leeds right now")
    alert = page.locator("#p1-alert")
    expect(alert).to_contain_text("New P1 case", timeout=TIMEOUT)
    expect(alert).to_contain_text("sound blocked by the browser")
    expect(sound).to_have_text("Sound: blocked (press to allow)")
    # One press allows it, and says so; the next turns it off; one more turns it on again.
    sound.click()
    expect(sound).to_have_text("Sound: on")
    expect(sound).to_have_attribute("aria-pressed", "true")
    expect(alert).not_to_contain_text("sound blocked")
    sound.click()
    expect(sound).to_have_text("Sound: off")
    expect(sound).to_have_attribute("aria-pressed", "false")
    page.reload()
    expect(page.locator("#sound")).to_have_text("Sound: off")  # a choice kept, not probed
    page.locator("#sound").click()
    expect(page.locator("#sound")).to_have_text("Sound: on")
    no_problems(page)


def test_the_simulator_fits_a_360_px_phone_and_unknown_pages_are_the_dashboards(
        browser, live, contexts):
    from playwright.sync_api import expect

    add_user(live.app, "alice")
    page = signed_in_without_a_gesture(browser, live, "alice", contexts,
                                       viewport={"width": 360, "height": 740},
                                       is_mobile=True, has_touch=True)
    page.goto("/simulator")
    expect(page.locator("#sim-body")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    for part in ("#sim-body", ".sim-form button", "#sim-phone", ".phone"):
        box = page.locator(part).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, (part, box)
    page.fill("#sim-body", "someone shouting at leeds station")
    page.keyboard.press("Enter")
    expect(page.locator(".sim-theirs").first).to_contain_text("Your reference is",
                                                             timeout=TIMEOUT)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    for path in ("/cases/abc", "/no/such/page"):
        resp = page.goto(path)
        assert resp is not None and resp.status == 404
        expect(page.locator("h1")).to_have_text("Page not found")
        expect(page.locator("a", has_text="Back to the queue")).to_be_visible()
    # The browser reports the two 404s it was answered; nothing else went wrong.
    assert [p for p in page.problems if "status of 404" not in p] == []
