"""A bearer token's last use is recorded, at most hourly: enough to find unused tokens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.auth.service import TOKEN_TOUCH_EVERY
from app.kit.db import unit_of_work, utcnow
from app.models import ApiToken
from tests.helpers import token_for


def _last_used(app):  # type: ignore[no-untyped-def]
    with unit_of_work(app.state.sessions) as s:
        return s.execute(select(ApiToken.last_used_at)).scalar_one()


def test_last_use_is_recorded_then_refreshed_only_when_stale(app, client):
    headers = token_for(app)
    assert _last_used(app) is None
    before = utcnow()
    assert client.get("/api/cases", headers=headers).status_code == 200
    first = _last_used(app)
    assert first is not None and before <= first <= utcnow()

    assert client.get("/api/cases", headers=headers).status_code == 200
    assert _last_used(app) == first  # within the hour: no write

    stale = utcnow() - TOKEN_TOUCH_EVERY - timedelta(minutes=1)
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(ApiToken).values(last_used_at=stale))
    assert client.get("/api/cases", headers=headers).status_code == 200
    assert _last_used(app) > stale + TOKEN_TOUCH_EVERY


def test_a_refused_token_records_nothing(app, client):
    headers = token_for(app)
    bad = {"Authorization": headers["Authorization"] + "x"}
    assert client.get("/api/cases", headers=bad).status_code == 401
    assert _last_used(app) is None
