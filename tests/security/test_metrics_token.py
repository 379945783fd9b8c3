"""GET /metrics wants TEXTLINE_METRICS_TOKEN as a bearer token when it is set; unset, it stays
open as before (docs/security.md says so)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.kit.config import ConfigError, Settings, load_settings
from app.main import create_app

TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture
def guarded(settings_kwargs):  # type: ignore[no-untyped-def]
    app = create_app(Settings(**settings_kwargs, metrics_token=TOKEN))
    with TestClient(app, base_url="https://textline.example.org") as c:
        yield c


def test_without_the_token_the_figures_are_refused(guarded):
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789abcdef"},
                    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN},
                    {"Authorization": f"Bearer {TOKEN}x"}):
        resp = guarded.get("/metrics", headers=headers)
        assert resp.status_code == 401, headers
        assert resp.headers["www-authenticate"] == "Bearer"
        assert "textline_" not in resp.text


def test_with_the_token_the_figures_are_served(guarded):
    resp = guarded.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200
    assert "textline_inbox_depth " in resp.text


def test_with_no_token_set_metrics_stay_open_as_documented(client):
    resp = client.get("/metrics")
    assert resp.status_code == 200 and "textline_inbox_depth " in resp.text


def test_a_weak_token_is_refused_at_start():
    with pytest.raises(ConfigError, match="metrics_token must be at least 16 characters"):
        load_settings(_env_file=None, metrics_token="short")
    with pytest.raises(ConfigError, match="placeholder"):
        load_settings(_env_file=None, metrics_token="changeme")
