"""/supervisor through HTTP: who may see it, what it shows, the export form, retention's effect."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from app.audit.retention import run_retention
from app.db import utcnow
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


def test_the_export_form_leads_to_the_audited_export(app, client):
    open_case(client, app, "help at leeds", "+447700900123")
    sign_in(client, app, "sam", "supervisor")
    params = {"kind": "cases", "fmt": "csv", "from": today(), "to": today()}
    hop = client.get("/supervisor/export", params=params, follow_redirects=False)
    assert hop.status_code == 303 and hop.headers["location"].startswith("/api/exports/cases.csv?")
    resp = client.get(hop.headers["location"])
    assert resp.status_code == 200 and "'+44770090****" in resp.text
    refused = client.get("/supervisor/export", params={**params, "include_pii": "true"})
    assert refused.status_code == 400 and "needs a reason" in refused.text
    pii = client.get("/supervisor/export", params={**params, "include_pii": "true",
                                                   "reason": "review 12"})
    assert pii.status_code == 200 and "+447700900123" in pii.text
    assert [e.data["reason"] for e in audits(app, "export.created")] == [None, "review 12"]


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
