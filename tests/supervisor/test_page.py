"""/supervisor through HTTP: who may see it, what it shows, the export form, retention's effect."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from app.audit.retention import run_retention
from app.kit.db import utcnow
from app.supervisor.figures import collect
from tests.cases.test_actions_helpers import audits, open_case, update_case
from tests.dashboard.signin import sign_in
from tests.helpers import token_for

LONDON = ZoneInfo("Europe/London")


def today() -> str:
    return utcnow().astimezone(LONDON).strftime("%Y-%m-%d")


def test_signed_out_goes_to_login_and_operators_are_refused(app, client):
    resp = client.get("/supervisor", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
    sign_in(client, app, "olly", "operator")
    refused = client.get("/supervisor")
    assert refused.status_code == 403 and "supervisor role" in refused.text


def test_the_page_shows_todays_figures_and_charts(app, client):
    open_case(client, app, "man with a knife at leeds now", "+447700900123")
    open_case(client, app, "lads smoking at york", "+447700900456")
    sign_in(client, app, "sam", "supervisor")
    page = client.get("/supervisor")
    assert page.status_code == 200
    html = page.text
    assert 'id="t-cases">2<' in html and 'id="t-999">1<' in html and 'id="t-texts">2<' in html
    assert html.count("<svg") == 2 and "<script" not in html.split("<main")[1]
    assert 'id="t-waiting">2<' in html  # nobody has answered either texter
    assert 'id="export"' in html and 'action="/supervisor/export"' in html
    css = client.get("/supervisor/supervisor.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_a_bad_or_long_range_is_explained(app, client):
    sign_in(client, app, "sam", "supervisor")
    assert "YYYY-MM-DD" in client.get("/supervisor", params={"from": "soon"}).text
    long = client.get("/supervisor", params={"from": "2026-01-01", "to": "2026-11-01"})
    assert long.status_code == 200 and "At most 92 days" in long.text


def test_the_export_form_posts_and_answers_with_the_audited_file(app, client):
    open_case(client, app, "help at leeds", "+447700900123")
    csrf = sign_in(client, app, "sam", "supervisor")
    form = {"kind": "cases", "fmt": "csv", "from": today(), "to": today(), "csrf_token": csrf}
    resp = client.post("/supervisor/export", data=form)
    assert resp.status_code == 200 and "'+44770090****" in resp.text
    assert resp.headers["content-disposition"].startswith('attachment; filename="textline-cases-')
    refused = client.post("/supervisor/export", data={**form, "include_pii": "true"})
    assert refused.status_code == 400 and "need a reason" in refused.text
    pii = client.post("/supervisor/export", data={**form, "include_pii": "true",
                                                  "reason": "review 12"})
    assert pii.status_code == 200 and "+447700900123" in pii.text
    events = audits(app, "export.created")
    assert [e.data["reason"] for e in events] == [None, "review 12"]
    assert {e.data["via"] for e in events} == {"dashboard"} and events[0].actor == "sam"


def test_a_refused_export_keeps_the_form_and_says_why_at_the_top(app, client):
    csrf = sign_in(client, app, "sam", "supervisor")
    form = {"kind": "messages", "fmt": "ndjson", "from": "2026-01-02", "to": "2026-11-05",
            "include_pii": "true", "reason": "  ", "csrf_token": csrf}
    page = client.post("/supervisor/export", data=form)
    assert page.status_code == 400
    html = page.text
    # the error comes before the figures, not at the foot of the page by the form
    assert html.index('id="export-error"') < html.index('id="h-totals"')
    assert "Unmasked phone numbers need a reason" in html
    assert "At most 92 days" not in html  # a long export is fine; the figures keep their range
    assert '<option value="messages" selected>' in html
    assert '<option value="ndjson" selected>' in html
    assert 'id="e-from" name="from" type="date" value="2026-01-02"' in html
    assert 'id="e-to" name="to" type="date" value="2026-11-05"' in html
    assert 'id="e-pii" checked' in html
    assert 'aria-invalid="true"' in html and "autofocus" in html
    backwards = client.post("/supervisor/export", data={**form, "from": "2026-11-06",
                                                        "reason": "court 4"})
    assert backwards.status_code == 400 and "The range is empty" in backwards.text
    assert 'value="court 4"' in backwards.text
    assert audits(app, "export.created") == []


def test_retention_leaves_the_figures_as_they_were(app, client):
    op = token_for(app, "operator", "olly")
    case_id = open_case(client, app, "man with a knife at leeds now", "+447700900123")
    client.post(f"/api/cases/{case_id}/messages", json={"body": "on our way"}, headers=op)
    client.post(f"/api/cases/{case_id}/close", json={"outcome": "attended"}, headers=op)
    update_case(app, case_id, closed_at=utcnow() - timedelta(days=400))
    day = utcnow().astimezone(LONDON).date()

    def figs():  # type: ignore[no-untyped-def]
        with app.state.sessions() as s:
            return collect(s, day, day, LONDON, utcnow())

    before = figs()
    assert run_retention(app.state.sessions, now=utcnow(), retention_days=365).cases == 1
    after = figs()
    assert after.by_day_queue == before.by_day_queue and after.total == before.total
    assert before.total.cases == 1 and before.total.human.n == 1
