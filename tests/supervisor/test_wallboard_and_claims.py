"""/wallboard, /supervisor/claims and the alert banner's fragment, through HTTP."""

from __future__ import annotations

from datetime import timedelta

from app.cases.alerts import check_alerts
from app.kit.db import utcnow
from tests.cases.test_actions_helpers import audits, load_case, open_case
from tests.dashboard.signin import add_user, sign_in

P1 = "a man with a knife at leeds station now"


def test_the_wallboard_is_for_signed_in_users_and_names_nobody(app, client):
    open_case(client, app, P1, "+447700900701")
    open_case(client, app, "a lad was shouting at me earlier at york", "+447700900702")
    resp = client.get("/wallboard", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
    sign_in(client, app, "olly", "operator")
    page = client.get("/wallboard")
    assert page.status_code == 200
    wall = page.text.split('id="wall"')[1].split("</section>")[0]
    assert '<span class="figure">1</span><span class="label">P1 waiting' in wall
    assert 'id="wall-unclaimed"><span class="figure">1<' in wall
    assert "longest wait now" in wall and "to a human reply today" in wall
    for personal in ("+44770", "07700", "knife", "leeds", "tl-"):
        assert personal not in wall.lower()


def test_an_alert_shows_in_the_banner_fragment_and_a_supervisor_hands_the_case_on(app, client):
    case_id = open_case(client, app, P1, "+447700900703")
    add_user(app, "olly", "operator")
    csrf = sign_in(client, app, "sam", "supervisor")
    assert "<li" not in client.get("/supervisor/alerts").text
    assert check_alerts(app.state.runtime, utcnow() + timedelta(seconds=90)) == 1
    banner = client.get("/supervisor/alerts").text
    assert f'data-case-id="{case_id}" data-reason="unclaimed"' in banner
    page = client.get("/supervisor/claims")
    assert page.status_code == 200 and f'action="/supervisor/cases/{case_id}/assign"' in page.text
    refused = client.post(f"/supervisor/cases/{case_id}/assign",
                          data={"to": "olly", "reason": "", "csrf_token": csrf})
    assert refused.status_code == 422 and "Reason must not be blank" in refused.text
    moved = client.post(f"/supervisor/cases/{case_id}/assign",
                        data={"to": "olly", "reason": "olly is free", "csrf_token": csrf},
                        follow_redirects=False)
    assert moved.status_code == 303
    assert load_case(app, case_id).assigned_to_id is not None
    assert audits(app, "case.reassigned")[-1].data["to"] == "olly"
    check_alerts(app.state.runtime)
    assert "<li" not in client.get("/supervisor/alerts").text


def test_operators_get_neither_the_claims_page_nor_the_banner(app, client):
    sign_in(client, app, "olly", "operator")
    assert client.get("/supervisor/claims").status_code == 403
    assert client.get("/supervisor/alerts").status_code == 403
    assert 'id="sup-alerts"' not in client.get("/").text
