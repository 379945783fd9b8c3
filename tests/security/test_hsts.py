"""Strict-Transport-Security is sent when the public URL is https, and only then."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.kit.config import Settings
from app.main import create_app


def test_an_https_public_url_sends_hsts_on_every_answer(client):
    assert client.app.state.runtime.settings.public_url.startswith("https://")
    for path in ("/login", "/healthz", "/api/cases", "/docs", "/no-such-page"):
        resp = client.get(path, follow_redirects=False)
        assert resp.headers["strict-transport-security"] == "max-age=31536000", path


def test_a_plain_http_public_url_sends_none(settings_kwargs):
    app = create_app(Settings(**{**settings_kwargs, "public_url": "http://127.0.0.1:8000"}))
    with TestClient(app) as plain:
        resp = plain.get("/login")
        assert resp.status_code == 200
        assert "strict-transport-security" not in resp.headers
