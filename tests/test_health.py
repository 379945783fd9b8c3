from sqlalchemy import text

from app.kit.db import unit_of_work


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_migration_state(app, client):
    resp = client.get("/readyz")
    assert resp.status_code == 200 and resp.json()["status"] == "ok"
    with unit_of_work(app.state.sessions) as s:
        s.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert "older" in resp.json()["detail"]


def test_security_headers_and_request_id(client):
    resp = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["x-request-id"] == "abc-123"
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
    assert resp.headers["x-frame-options"] == "DENY"
    resp = client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert resp.headers["x-request-id"] != "<script>"
