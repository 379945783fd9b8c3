"""`textline user ...` and `textline token ...` as a supervisor would run them: a real subprocess
against the migrated database, with the effect proved through the API and the dashboard."""

from __future__ import annotations

import getpass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from app.audit.service import verify
from app.auth.service import create_token
from app.kit.db import unit_of_work, utcnow
from app.models import ApiToken, AuditEvent, User, WebSession
from tests.dashboard.signin import PASSWORD, post_login
from tests.helpers import token_for
from tests.test_cli import run

CLI_ACTOR = f"cli:{getpass.getuser()}"  # the OS user who ran the command


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {"TEXTLINE_DATABASE_URL": database_url}


def ok(args: list[str], env: dict[str, str], stdin: str = "") -> str:
    done = run(args, env, stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def fails(args: list[str], env: dict[str, str], words: str, stdin: str = "") -> None:
    """Exit 1 with one line on stderr naming the problem."""
    done = run(args, env, stdin)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert words in done.stderr, done.stderr


def events(app: Any, action: str) -> list[AuditEvent]:
    with unit_of_work(app.state.sessions) as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.seq)).scalars())


def token_ids(app: Any, username: str) -> list[int]:
    with unit_of_work(app.state.sessions) as s:
        return list(s.execute(select(ApiToken.id).join(User, User.id == ApiToken.user_id)
                              .where(User.username == username).order_by(ApiToken.id)).scalars())


def signed_in(client: Any, username: str) -> None:
    resp = post_login(client, username)
    assert resp.status_code == 303 and resp.headers["location"] == "/", resp.text
    assert client.get("/", follow_redirects=False).status_code == 200


def signed_out(client: Any) -> bool:
    """The client's session cookie no longer opens the dashboard or the JSON API."""
    page = client.get("/", follow_redirects=False)
    return (page.status_code == 303 and page.headers["location"].startswith("/login")
            and client.get("/api/cases").status_code == 401)


def test_token_revoke_ends_that_token_and_no_other(env, app, client):
    leaked = token_for(app, "operator", "olive")
    with unit_of_work(app.state.sessions) as s:
        spare = {"Authorization": "Bearer " + create_token(s, "olive", "spare", actor="test")}
    assert client.get("/api/cases", headers=leaked).status_code == 200
    first, second = token_ids(app, "olive")

    out = ok(["token", "revoke", str(first)], env)
    assert f"token {first}" in out and "olive" in out
    assert client.get("/api/cases", headers=leaked).status_code == 401
    assert client.get("/api/cases", headers=spare).status_code == 200
    [event] = events(app, "token.revoked")
    assert event.actor == CLI_ACTOR
    assert event.data == {"id": first, "username": "olive", "name": "test"}

    fails(["token", "revoke", str(first)], env, "already revoked")
    fails(["token", "revoke", "9999"], env, "no token 9999")
    assert len(events(app, "token.revoked")) == 1
    assert token_ids(app, "olive") == [first, second]


def test_disable_ends_sessions_and_tokens_for_good(env, app, client):
    headers = token_for(app, "operator", "dora")
    signed_in(client, "dora")
    assert client.get("/api/cases", headers=headers).status_code == 200

    out = ok(["user", "disable", "dora"], env)
    assert "1 dashboard session" in out and "1 API token" in out
    assert client.get("/api/cases", headers=headers).status_code == 401
    assert signed_out(client)
    assert post_login(client, "dora").status_code == 401
    [event] = events(app, "user.disabled")
    assert event.actor == CLI_ACTOR
    assert event.data == {"username": "dora", "sessions_revoked": 1, "tokens_revoked": 1}
    fails(["user", "disable", "dora"], env, "already disabled")
    fails(["token", "create", "dora"], env, "disabled")  # no new way in while disabled

    ok(["user", "enable", "dora"], env)
    # What she held before stays dead; she signs in afresh.
    assert client.get("/api/cases", headers=headers).status_code == 401
    assert signed_out(client)
    with unit_of_work(app.state.sessions) as s:
        assert s.execute(select(WebSession.revoked_at)).scalar_one() is not None
        assert s.execute(select(ApiToken.revoked_at)).scalar_one() is not None
    signed_in(client, "dora")
    assert [e.data for e in events(app, "user.enabled")] == [{"username": "dora"}]
    fails(["user", "enable", "dora"], env, "not disabled")


def test_role_change_holds_from_the_next_request_on_token_and_session(env, app, client):
    headers = token_for(app, "operator", "opal")
    signed_in(client, "opal")
    assert client.get("/api/audit/verify", headers=headers).status_code == 403
    assert client.get("/api/audit/verify").status_code == 403  # by the session cookie
    assert client.get("/supervisor", follow_redirects=False).status_code == 403

    assert "operator -> supervisor" in ok(["user", "set-role", "opal", "supervisor"], env)
    assert client.get("/api/audit/verify", headers=headers).status_code == 200
    assert client.get("/api/audit/verify").status_code == 200
    assert client.get("/supervisor", follow_redirects=False).status_code == 200

    ok(["user", "set-role", "opal", "operator"], env)  # and a demotion bites as fast
    assert client.get("/api/audit/verify", headers=headers).status_code == 403
    assert client.get("/api/audit/verify").status_code == 403
    assert [e.data for e in events(app, "user.role_changed")] == [
        {"username": "opal", "from": "operator", "to": "supervisor"},
        {"username": "opal", "from": "supervisor", "to": "operator"}]

    fails(["user", "set-role", "opal", "operator"], env, "already has the role operator")
    assert run(["user", "set-role", "opal", "king"], env).returncode == 2


def test_unlock_lets_a_locked_out_user_sign_in(env, app, client, settings):
    token_for(app, "operator", "lena")
    until = utcnow() + timedelta(minutes=30)
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(User).where(User.username == "lena")
                  .values(failed_logins=7, locked_until=until))
    assert post_login(client, "lena").status_code == 401  # right password, locked
    [line] = [r for r in ok(["user", "list"], env).splitlines() if r.startswith("lena ")]
    assert until.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") in line  # local time

    ok(["user", "unlock", "lena"], env)
    with unit_of_work(app.state.sessions) as s:
        user = s.execute(select(User).where(User.username == "lena")).scalar_one()
        assert (user.failed_logins, user.locked_until) == (0, None)
    signed_in(client, "lena")
    [event] = events(app, "user.unlocked")
    assert event.data["username"] == "lena" and event.data["failed_logins"] == 7
    assert event.data["locked_until"] is not None
    fails(["user", "unlock", "lena"], env, "not locked")


def test_reset_password_signs_out_and_forces_a_change(env, app, client):
    token_for(app, "operator", "rita")
    signed_in(client, "rita")
    fails(["user", "reset-password", "rita", "--password-stdin"], env, "at least 12",
          stdin="short\n")
    assert client.get("/", follow_redirects=False).status_code == 200  # nothing changed

    out = ok(["user", "reset-password", "rita", "--password-stdin"], env,
             stdin="a-fresh-one-time-password\n")
    assert "1 dashboard session" in out and "a-fresh-one-time-password" not in out
    # Signed out, not merely sent to change the password (which would be a 403 on the API).
    assert signed_out(client)
    client.cookies.clear()
    assert post_login(client, "rita", PASSWORD).status_code == 401
    resp = post_login(client, "rita", "a-fresh-one-time-password")
    assert resp.status_code == 303 and resp.headers["location"] == "/password"
    assert client.get("/api/cases").status_code == 403  # until she chooses her own
    [event] = events(app, "user.password_reset")
    assert event.actor == CLI_ACTOR
    assert event.data == {"username": "rita", "sessions_revoked": 1}


def test_lists_show_the_rows_and_never_a_secret(env, app, client, settings):
    alice = token_for(app, "supervisor", "alice")["Authorization"].split()[1]
    bob = token_for(app, "operator", "bob")["Authorization"].split()[1]
    ok(["user", "disable", "bob"], env)
    with unit_of_work(app.state.sessions) as s:
        hashes = list(s.execute(select(User.password_hash)).scalars())
        hashes += list(s.execute(select(ApiToken.token_hash)).scalars())
    today = utcnow().astimezone(settings.tz).strftime("%Y-%m-%d")

    users = ok(["user", "list"], env).splitlines()
    assert users[0].split() == ["USERNAME", "ROLE", "STATUS", "CREATED", "LOCKED", "UNTIL"]
    rows = {line.split()[0]: line.split() for line in users[1:]}
    assert set(rows) == {"alice", "bob"}
    assert rows["alice"][1:3] == ["supervisor", "active"] and rows["bob"][1:3] == ["operator",
                                                                                  "disabled"]
    assert rows["alice"][3] == today and rows["alice"][4] == "-"

    tokens = ok(["token", "list"], env)
    [a_id], [b_id] = token_ids(app, "alice"), token_ids(app, "bob")
    lines = {line.split()[0]: line for line in tokens.splitlines()[1:]}
    assert set(lines) == {str(a_id), str(b_id)}
    assert lines[str(a_id)].split()[1:3] == ["alice", "test"]
    expires = (utcnow() + timedelta(days=90)).astimezone(settings.tz).strftime("%Y-%m-%d")
    assert expires in lines[str(a_id)] and lines[str(a_id)].rstrip().endswith("-")
    assert not lines[str(b_id)].rstrip().endswith("-")  # revoked when bob was disabled
    only = ok(["token", "list", "alice"], env).splitlines()[1:]
    assert [line.split()[0] for line in only] == [str(a_id)]

    for out in ("\n".join(users), tokens):
        assert "argon2" not in out and alice not in out and bob not in out
        assert not any(h in out for h in hashes)
    fails(["token", "list", "nobody"], env, "no user 'nobody'")


def test_unknown_user_is_one_line_and_the_chain_stays_intact(env, app):
    token_for(app, "admin", "ada")
    for args in (["user", "set-role", "ghost", "admin"], ["user", "disable", "ghost"],
                 ["user", "enable", "ghost"], ["user", "unlock", "ghost"]):
        fails(args, env, "no user 'ghost'")
    fails(["user", "reset-password", "ghost", "--password-stdin"], env, "no user 'ghost'",
          stdin="a-long-enough-password\n")
    assert run(["token", "revoke", "one"], env).returncode == 2
    ok(["user", "set-role", "ada", "operator"], env)
    with unit_of_work(app.state.sessions) as s:
        assert s.execute(select(AuditEvent.actor).where(AuditEvent.actor == CLI_ACTOR)).all()
        result = verify(s)
    assert result.ok, result.problem
