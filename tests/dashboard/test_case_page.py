"""The case page: what it shows, the audit of each opening, and the operator's forms."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select, update

from app.kit.db import unit_of_work
from app.models import AuditEvent, Case, Message, Reporter
from tests.dashboard.signin import sign_in
from tests.helpers import text_in

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "dashboard" / "templates"


def _audit(app, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.seq)).scalars())


def _case(app) -> Case:  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        return s.execute(select(Case)).scalar_one()


def test_openings_and_live_refreshes_are_audited_once_a_window(app, client):
    # Page and live fragment both show the transcript; repeats within minutes are one event
    # (tests/security/test_transcript_reads_audited.py has the window itself).
    sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    assert client.get("/cases/1").status_code == 200
    assert client.get("/cases/1").status_code == 200
    assert client.get("/cases/1/live").status_code == 200
    viewed = _audit(app, "case.viewed")
    assert [(e.actor, e.case_id, e.data) for e in viewed] == [("alice", 1, {"via": "dashboard"})]
    assert client.get("/cases/99").status_code == 404
    assert len(_audit(app, "case.viewed")) == 1


def test_transcript_tells_authors_apart_and_facts_show_their_words(app, client):
    csrf = sign_in(client, app)
    text_in(client, "lad about 14 being pushed around on platform 4 at clapham jn now")
    client.post("/cases/1/reply", data={"body": "Are they still there?", "csrf_token": csrf})
    client.post("/cases/1/note", data={"body": "Called the station.", "csrf_token": csrf})
    page = client.get("/cases/1").text
    # The texter's first text is the first report, pinned at the top of the transcript.
    assert 'class="msg msg-reporter msg-first"' in page and 'class="msg msg-bot"' in page
    assert page.count('id="first-report"') == 1 and "First report · Texter" in page
    assert 'class="msg msg-operator"' in page and "Operator · alice" in page
    assert 'class="msg msg-note"' in page and "Internal note · alice (never texted)" in page
    assert "Clapham Junction" in page
    assert "from “about 14”" in page or "from “lad about 14”" in page
    assert "Dispatch decision" in page


def test_claim_override_and_close_through_the_forms(app, client):
    csrf = sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    resp = client.post("/cases/1/claim", data={"csrf_token": csrf}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/cases/1?done=claim")
    assert "The case is yours." in client.get(resp.headers["location"]).text

    no_reason = client.post("/cases/1/decision", data={"decision": "999", "queue": "emergency",
                                                       "reason": "  ", "csrf_token": csrf})
    assert no_reason.status_code == 422
    assert "reason must not be blank" in no_reason.text
    assert '<option value="emergency" selected>' in no_reason.text  # what was chosen is kept
    ok = client.post("/cases/1/decision", data={"decision": "999", "queue": "emergency",
                                                "reason": "caller says knife seen",
                                                "csrf_token": csrf}, follow_redirects=False)
    assert ok.status_code == 303
    case = _case(app)
    assert (case.decision, case.priority, case.decision_by) == ("999", "P1", "operator:alice")

    assert client.post("/cases/1/close", data={"outcome": "", "csrf_token": csrf}
                       ).status_code == 422
    closed = client.post("/cases/1/close", data={"outcome": "Officers attended",
                                                 "csrf_token": csrf})
    assert closed.status_code == 200 and "Case closed." in closed.text
    assert _case(app).status == "closed"
    again = client.post("/cases/1/reply", data={"body": "hello", "csrf_token": csrf})
    assert again.status_code == 409 and "closed" in again.text


def test_discreet_case_needs_confirmation_and_shows_a_banner(app, client):
    csrf = sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(Case).values(discreet=True))
    page = client.get("/cases/1").text
    assert "banner-discreet" in page and 'name="confirm_discreet"' in page
    refused = client.post("/cases/1/reply", data={"body": "Are you safe?", "csrf_token": csrf})
    assert refused.status_code == 409
    assert "Send anyway" in refused.text
    assert "Are you safe?</textarea>" in refused.text  # the draft survives
    sent = client.post("/cases/1/reply", data={"body": "Are you safe?", "confirm_discreet": "true",
                                               "csrf_token": csrf}, follow_redirects=False)
    assert sent.status_code == 303
    with app.state.sessions() as s:
        assert s.execute(select(Message.body).where(Message.author == "operator:alice")
                         ).scalar_one() == "Are you safe?"


def test_opted_out_reporter_cannot_be_texted(app, client):
    csrf = sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(Reporter).values(opted_out=True))
    page = client.get("/cases/1").text
    assert "banner-optout" in page
    assert re.search(r'<textarea id="reply-body"[^>]*disabled', page)
    resp = client.post("/cases/1/reply", data={"body": "hello", "csrf_token": csrf})
    assert resp.status_code == 409 and "opted out" in resp.text


def test_texter_content_is_escaped_in_every_view(app, client):
    sign_in(client, app)
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    text_in(client, f"{evil} at kings cross")
    for path in ("/cases/1", "/cases/1/live"):
        html = client.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_templates_hold_no_inline_script_or_style():
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert not re.search(r"\sstyle\s*=", text), template.name
        assert "|safe" not in text and "Markup(" not in text, template.name


def test_canned_replies_fit_one_plain_text():
    from app.conversation.gsm import segments
    from app.dashboard.case_view import canned_replies

    replies = canned_replies()
    assert len(replies) >= 5
    for reply in replies:
        assert segments(reply["text"]) == (1, "GSM-7"), reply
        assert segments(reply["cy"]) == (1, "GSM-7"), reply
        assert reply["cy_label"], reply



def test_form_text_with_control_characters_is_refused_not_a_500(app, client):
    """Forms reach the case service without the JSON API's validation: the service checks too."""
    csrf = sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    for route, data in (("decision", {"decision": "101", "queue": "general", "reason": "x\x1by"}),
                        ("note", {"body": "bad\x07note"}), ("close", {"outcome": "\x7f"})):
        resp = client.post(f"/cases/1/{route}", data={**data, "csrf_token": csrf})
        assert resp.status_code < 500, route
        assert "control characters" in resp.text, route
        # NUL is refused earlier, before any route (app/kit/nul_guard.py).
        with_nul = {k: v + "\x00" for k, v in data.items()}
        resp = client.post(f"/cases/1/{route}", data={**with_nul, "csrf_token": csrf})
        assert resp.status_code == 422 and "NUL" in resp.json()["detail"], route
    assert _case(app).status == "open"


def test_a_person_s_999_reaches_the_texter_and_the_integration(app, client):
    """The form override goes through the same service as the API: 999 advice is texted."""
    csrf = sign_in(client, app)
    text_in(client, "lad about 30 arguing with staff at kings cross, its over now")
    resp = client.post("/cases/1/decision", data={"decision": "999", "queue": "emergency",
                                                  "reason": "CCTV shows a weapon",
                                                  "csrf_token": csrf}, follow_redirects=False)
    assert resp.status_code in (302, 303)
    with app.state.sessions() as s:
        bot = s.execute(select(Message).where(Message.author == "bot")
                        .order_by(Message.id.desc())).scalars().first()
    assert bot is not None and "999" in bot.body and bot.status == "queued"
