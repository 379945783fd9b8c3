"""GET /api/cases and /api/cases/{id}: auth, roles, the Case shape, filters and cursors."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.kit.db import unit_of_work, utcnow
from app.models import ApiToken, Case
from tests.helpers import text_in, token_for


def test_no_credentials_is_401(client):
    resp = client.get("/api/cases")
    assert resp.status_code == 401
    assert resp.json() == {"detail": "authentication required"}
    assert client.get("/api/cases", headers={"Authorization": "Bearer tl_nope"}).status_code == 401


def test_expired_and_revoked_tokens_are_401(app, client):
    headers = token_for(app)
    assert client.get("/api/cases", headers=headers).status_code == 200
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/api/cases", headers=headers).status_code == 401
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(ApiToken).values(expires_at=None, revoked_at=utcnow()))
    assert client.get("/api/cases", headers=headers).status_code == 401


def test_role_below_supervisor_is_403(app, client):
    op = token_for(app, "operator")
    sup = token_for(app, "supervisor")
    assert client.get("/api/audit/verify", headers=op).status_code == 403
    body = client.get("/api/audit/verify", headers=sup).json()
    assert body["ok"] is True and body["first_bad"] is None and body["events"] >= 4


def test_case_json_has_nulls_for_unknown_facts(app, client):
    headers = token_for(app)
    text_in(client, "something odd going on", phone="+447700900201")
    page = client.get("/api/cases", headers=headers).json()
    assert page["next_cursor"] is None
    (item,) = page["items"]
    assert item["reference"].startswith("TL-")
    assert item["status"] == "open"
    assert item["reporter"] == {"phone": "+44770090****", "phone_masked": True,
                                "opted_out": False, "discreet": False}
    assert item["messages"] is None
    detail = client.get(f"/api/cases/{item['id']}", headers=headers).json()
    assert [m["author"] for m in detail["messages"]][0] == "reporter"
    assert detail["messages"][0]["body"] == "something odd going on"
    assert any(m["author"] == "bot" for m in detail["messages"])
    for key in ("assigned_to", "closed_at", "outcome", "first_response_at"):
        assert detail[key] is None


def test_unknown_case_is_404_and_bad_id_422(app, client):
    headers = token_for(app)
    assert client.get("/api/cases/999999", headers=headers).status_code == 404
    assert client.get("/api/cases/abc", headers=headers).status_code == 422
    assert client.get("/api/cases/0", headers=headers).status_code == 422


def test_filters_by_phone_status_priority(app, client):
    headers = token_for(app)
    for n in range(3):
        text_in(client, f"report {n}", phone=f"+44770090030{n}")
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(Case).where(Case.id == 1).values(priority="P1", decision="999",
                                                          queue="emergency"))
        s.execute(update(Case).where(Case.id == 2).values(status="closed", open_reporter_id=None))
    get = lambda q: client.get(f"/api/cases?{q}", headers=headers).json()["items"]  # noqa: E731
    assert [c["id"] for c in get("phone=%2B447700900302")] == [3]
    assert [c["reporter"]["phone"] for c in get("phone=07700900302")] == ["+44770090****"]
    assert [c["id"] for c in get("priority=P1")] == [1]
    assert [c["id"] for c in get("decision=999&queue=emergency")] == [1]
    assert [c["id"] for c in get("status=closed")] == [2]
    assert sorted(c["id"] for c in get("status=open")) == [1, 3]
    assert client.get("/api/cases?priority=P9", headers=headers).status_code == 422
    assert client.get("/api/cases?phone=hello", headers=headers).status_code == 400
    assert client.get("/api/cases?since=2026-01-01T00:00:00", headers=headers).status_code == 400
    assert len(get("since=2020-01-01T00:00:00Z")) == 3
    assert get("since=2999-01-01T00:00:00Z") == []


def test_cursor_pagination_walks_everything_newest_first(app, client):
    headers = token_for(app)
    for n in range(7):
        text_in(client, "hi", phone=f"+4477009004{n:02d}")
    seen, cursor = [], None
    while True:
        url = "/api/cases?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    assert client.get("/api/cases?cursor=garbage!", headers=headers).status_code == 400
    assert client.get("/api/cases?limit=0", headers=headers).status_code == 422
    assert client.get("/api/cases?limit=201", headers=headers).status_code == 422


def test_sql_metacharacters_in_filters_are_bound(app, client):
    headers = token_for(app)
    text_in(client, "hi", phone="+447700900501")
    resp = client.get("/api/cases?queue=x'%20OR%20'1'='1", headers=headers)
    assert resp.status_code == 200 and resp.json()["items"] == []
