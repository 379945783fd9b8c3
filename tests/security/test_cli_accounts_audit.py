"""The command line names the person who ran it in the audit log ("cli:<OS login>", beside the
account acted on), and reads a password without a terminal as one line of standard input, or
says in one line that there was none; never an EOFError."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from app.kit.db import unit_of_work
from app.models import AuditEvent
from tests.dashboard.signin import add_user, post_login
from tests.test_cli import run


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    # getpass.getuser() reads LOGNAME first: the person at the terminal, as the OS knows them.
    return {"TEXTLINE_DATABASE_URL": database_url, "LOGNAME": "dana"}


def audit(app) -> list[tuple[str, str, dict]]:  # type: ignore[no-untyped-def]
    with unit_of_work(app.state.sessions) as s:
        return [(e.actor, e.action, e.data) for e in s.execute(
            select(AuditEvent).where(AuditEvent.actor.like("cli%")).order_by(AuditEvent.seq)
        ).scalars()]


def test_account_changes_and_exports_name_the_os_user_and_the_account(env, app):
    steps = [(["user", "add", "olly", "--role", "operator", "--password-stdin"],
              "a-long-enough-password\n"),
             (["token", "create", "olly", "--label", "laptop"], ""),
             (["user", "set-role", "olly", "supervisor"], ""),
             (["user", "reset-password", "olly", "--password-stdin"], "another-long-password\n"),
             (["export", "cases", "--from", "2026-01-01", "--to", "2026-01-02"], "")]
    for args, stdin in steps:
        done = run(args, env, stdin)
        assert done.returncode == 0, (args, done.stderr)
    events = audit(app)
    assert [(actor, action) for actor, action, _ in events] == [
        ("cli:dana", "user.created"), ("cli:dana", "token.created"),
        ("cli:dana", "user.role_changed"), ("cli:dana", "user.password_reset"),
        ("cli:dana", "export.created")]
    assert all(data["username"] == "olly" for _, action, data in events
               if action != "export.created")


def test_unlock_from_the_cli_names_the_os_user_too(env, app, client):
    add_user(app, "olly")
    for _ in range(3):
        post_login(client, "olly", "a-wrong-password")
    assert run(["user", "unlock", "olly"], env).returncode == 0
    [(actor, action, data)] = audit(app)
    assert (actor, action, data["username"], data["waits_cleared"]) == (
        "cli:dana", "user.unlocked", "olly", 1)


@pytest.mark.parametrize("command", [["user", "add", "olly", "--role", "operator"],
                                     ["user", "reset-password", "olly"]])
def test_without_a_terminal_the_password_is_one_line_of_stdin(env, app, client, command):
    if command[1] == "reset-password":
        add_user(app, "olly")
    done = run(command, env, "plum-ferry-quartz-lamp\n")
    assert done.returncode == 0, done.stderr
    resp = post_login(client, "olly", "plum-ferry-quartz-lamp")
    assert resp.status_code == 303, resp.text


@pytest.mark.parametrize("command", [["user", "add", "olly", "--role", "operator"],
                                     ["user", "reset-password", "olly"],
                                     ["user", "add", "olly", "--role", "operator",
                                      "--password-stdin"]])
def test_no_terminal_and_no_password_is_one_clear_line(env, command):
    base = {k: v for k, v in os.environ.items() if not k.startswith("TEXTLINE_")}
    done = subprocess.run([sys.executable, "-m", "app", *command], env={**base, **env},
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "EOFError" not in done.stderr and "Traceback" not in done.stderr
    assert "no password given" in done.stderr and "standard input" in done.stderr


def test_the_os_user_is_named_even_without_a_login_name(database_url, app):
    """In a container with no LOGNAME, USER or passwd entry, the uid stands in."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TEXTLINE_") and k not in ("LOGNAME", "USER", "LNAME", "USERNAME")}
    env["TEXTLINE_DATABASE_URL"] = database_url
    code = ("import getpass, sys\n"
            "def nobody(): raise OSError('no such user')\n"
            "getpass.getuser = nobody\n"
            "from app.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    done = subprocess.run([sys.executable, "-c", code, "user", "add", "olly", "--role",
                           "operator", "--password-stdin"], env=env, input="plum-ferry-quartz\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    [(actor, _, _)] = audit(app)
    assert actor == f"cli:uid{os.getuid()}"
