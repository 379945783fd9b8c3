"""Every API token expires: TEXTLINE_TOKEN_DAYS (90) unless `token create` says otherwise, never
"0 for never"; tokens made before this rule get 90 days from the upgrade."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text, update

from app.auth.service import create_token
from app.kit import migrate
from app.kit.db import unit_of_work, utcnow
from app.kit.errors import Unprocessable
from app.models import ApiToken
from tests.dashboard.signin import add_user
from tests.test_cli import run


def _expiry(app) -> timedelta:  # type: ignore[no-untyped-def]
    with unit_of_work(app.state.sessions) as s:
        expires = s.execute(select(ApiToken.expires_at).order_by(ApiToken.id.desc())).scalars()
        return next(iter(expires)) - utcnow()


def _close(delta: timedelta, days: int) -> bool:
    return abs(delta - timedelta(days=days)) < timedelta(minutes=5)


def test_a_token_expires_by_default_and_then_stops_working(app, client, database_url):
    add_user(app, "olly")
    env = {"TEXTLINE_DATABASE_URL": database_url}
    made = run(["token", "create", "olly"], env)
    assert made.returncode == 0, made.stderr
    assert _close(_expiry(app), 90)
    headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
    assert client.get("/api/cases", headers=headers).status_code == 200
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/api/cases", headers=headers).status_code == 401

    short = run(["token", "create", "olly"], {**env, "TEXTLINE_TOKEN_DAYS": "7"})
    assert short.returncode == 0 and _close(_expiry(app), 7)
    assert run(["token", "create", "olly", "--expires-days", "30"], env).returncode == 0
    assert _close(_expiry(app), 30)


@pytest.mark.parametrize("days", ["0", "-5", "99999999"])
def test_a_token_that_never_expires_is_refused_in_one_line(app, database_url, days):
    add_user(app, "olly")
    done = run(["token", "create", "olly", "--expires-days", days],
               {"TEXTLINE_DATABASE_URL": database_url})
    assert done.returncode == 1, done.stdout
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "expire" in done.stderr and done.stdout == ""
    with unit_of_work(app.state.sessions) as s:
        assert s.execute(select(ApiToken)).first() is None


def test_the_service_refuses_zero_days(app):
    add_user(app, "olly")
    with unit_of_work(app.state.sessions) as s, pytest.raises(Unprocessable, match="1 to 3650"):
        create_token(s, "olly", "x", actor="test", expires_days=0)


def test_a_bad_token_days_setting_stops_the_start(database_url):
    done = run(["token", "create", "olly"], {"TEXTLINE_DATABASE_URL": database_url,
                                             "TEXTLINE_TOKEN_DAYS": "0"})
    assert done.returncode == 1 and "TEXTLINE_TOKEN_DAYS" in done.stderr


def test_the_upgrade_gives_old_tokens_an_end(database_url):
    migrate.downgrade(database_url, "0006")
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (username, password_hash, role, active, must_change_password,"
                " failed_logins, created_at) VALUES ('old', 'x', 'operator', true, false, 0,"
                " CURRENT_TIMESTAMP)"))
            conn.execute(text(
                "INSERT INTO api_tokens (user_id, name, token_hash, created_at) SELECT id,"
                " 'forever', 'h', CURRENT_TIMESTAMP FROM users"))
        migrate.upgrade(database_url)
        with engine.connect() as conn:
            [expires] = conn.execute(select(ApiToken.expires_at)).scalars()
    finally:
        engine.dispose()
    assert _close(expires - utcnow(), 90)
