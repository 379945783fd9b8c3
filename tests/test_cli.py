"""The `textline` command, run as a real subprocess against a migrated database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.helpers import token_for
from tests.live import live_server

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], env_extra: dict[str, str], stdin: str = "",
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTLINE_")}
    env.update(env_extra)
    if cwd is not None:  # `python -m app` from elsewhere finds this checkout's package
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "app", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=60, cwd=cwd)


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {"TEXTLINE_DATABASE_URL": database_url}


def test_user_add_and_token_create(env, app, client):
    done = run(["user", "add", "alice", "--role", "supervisor", "--password-stdin"], env,
               stdin="a-long-enough-password\n")
    assert done.returncode == 0, done.stderr
    token = run(["token", "create", "alice", "--expires-days", "30"], env)
    assert token.returncode == 0, token.stderr
    value = token.stdout.strip()
    assert value.startswith("tl_")
    resp = client.get("/api/audit/verify", headers={"Authorization": f"Bearer {value}"})
    assert resp.status_code == 200 and resp.json()["ok"] is True


def test_errors_are_one_line_with_exit_codes(env):
    dup = run(["user", "add", "bob", "--role", "operator", "--password-stdin"], env,
              stdin="a-long-enough-password\n")
    assert dup.returncode == 0
    again = run(["user", "add", "bob", "--role", "operator", "--password-stdin"], env,
                stdin="a-long-enough-password\n")
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr
    short = run(["user", "add", "carol", "--role", "operator", "--password-stdin"], env, stdin="x\n")
    assert short.returncode == 1 and "at least" in short.stderr
    nouser = run(["token", "create", "nobody"], env)
    assert nouser.returncode == 1 and "no user" in nouser.stderr
    usage = run(["user", "add", "dave", "--role", "king"], env)
    assert usage.returncode == 2
    bad = run(["db", "current"], {**env, "TEXTLINE_SILENCE_MINUTES": "soon"})
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0 and "TEXTLINE_SILENCE_MINUTES" in bad.stderr


def test_db_current_upgrade_downgrade(env):
    current = run(["db", "current"], env)
    assert current.returncode == 0 and current.stdout.startswith("0")
    down = run(["db", "downgrade", "base"], env)
    assert down.returncode == 0, down.stderr
    assert "empty" in run(["db", "current"], env).stdout
    up = run(["db", "upgrade"], env)
    assert up.returncode == 0 and "database at" in up.stdout


def test_serve_refuses_twilio_without_auth_token(env):
    done = run(["serve"], {**env, "TEXTLINE_SMS_PROVIDER": "twilio",
                           "TEXTLINE_TWILIO_ACCOUNT_SID": "AC1", "TEXTLINE_TWILIO_FROM": "61016"})
    assert done.returncode == 1
    assert "TWILIO_AUTH_TOKEN" in done.stderr


def test_audit_verify_command(env, app, client):
    token_for(app)  # writes user and token events
    done = run(["audit", "verify"], env)
    assert done.returncode == 0 and "intact" in done.stdout


def test_simulate_texts_a_running_server(env, app, settings, client):
    headers = token_for(app)
    with live_server(app) as base:
        done = run(["simulate", "--from", "+447700900777", "--url", base + "/webhooks/twilio/sms"],
                   {**env, "TEXTLINE_TWILIO_AUTH_TOKEN": settings.twilio_auth_token.get_secret_value(),
                    "TEXTLINE_PUBLIC_URL": settings.public_url},
                   stdin="hello, a man is shouting at people at leeds\n")
    # The simulator signs against --url; the server checks against its public URL, so it must
    # be told the URL it is reached on. Here they differ, and the server rightly refuses.
    assert done.returncode == 0
    assert "403" in done.stdout
    assert client.get("/api/cases", headers=headers).json()["items"] == []


def test_simulate_conversation_appears_in_the_api(settings_kwargs, tmp_path):
    """Given the server's base URL, from a folder of its own and with no database setting:
    a client of the server, which touches no database."""
    from fastapi.testclient import TestClient

    from app.kit.config import Settings
    from app.main import create_app
    from tests.live import free_port

    port = free_port()
    public = f"http://127.0.0.1:{port}"
    # The server reads each text in its background processor, as `textline serve` does.
    app = create_app(Settings(**{**settings_kwargs, "public_url": public, "run_worker": True}))
    headers = token_for(app)
    token = settings_kwargs["twilio_auth_token"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with live_server(app, port):
        done = run(["simulate", "--from", "+447700900778", "--url", public + "/"],
                   {"TEXTLINE_TWILIO_AUTH_TOKEN": token},
                   stdin="a man is shouting at people at leeds\nhes still here\n", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert f"Texting {public}/webhooks/twilio/sms" in done.stdout
    replies = [line for line in done.stdout.splitlines() if line.startswith("61016> ")]
    assert replies and "TL-" in replies[0], done.stdout  # the first reply gives the reference
    assert "!" not in done.stdout.replace("Ctrl-D to stop.", ""), done.stdout
    assert list(elsewhere.iterdir()) == []  # no textline.db, no spool
    with TestClient(app) as c:
        items = c.get("/api/cases?phone=%2B447700900778", headers=headers).json()["items"]
        assert len(items) == 1
        case = c.get(f"/api/cases/{items[0]['id']}", headers=headers).json()
    bodies = [(m["author"], m["body"]) for m in case["messages"]]
    assert ("reporter", "a man is shouting at people at leeds") in bodies
    assert [b for a, b in bodies if a == "bot"] == [r.removeprefix("61016> ") for r in replies]


def test_simulate_says_why_it_shows_no_replies(settings_kwargs, tmp_path):
    """A number outside the fictional range is texted, and its replies are not shown."""
    from app.kit.config import Settings
    from app.main import create_app
    from tests.live import free_port

    port = free_port()
    public = f"http://127.0.0.1:{port}"
    app = create_app(Settings(**{**settings_kwargs, "public_url": public}))
    with live_server(app, port):
        done = run(["simulate", "--from", "+447911123456", "--url", public],
                   {"TEXTLINE_TWILIO_AUTH_TOKEN": settings_kwargs["twilio_auth_token"]},
                   stdin="someone is following me at leeds\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Replies are shown only for the fictional numbers" in done.stdout
    assert "61016>" not in done.stdout and "! server answered" not in done.stdout
    with app.state.sessions() as s:
        assert s.execute(text("SELECT count(*) FROM inbox")).scalar_one() == 1  # texted all the same


def test_simulate_refuses_a_url_that_is_not_http(tmp_path):
    done = run(["simulate", "--url", "127.0.0.1:8000"], {}, stdin="hi\n", cwd=tmp_path)
    assert done.returncode == 1 and "--url must be an http://" in done.stderr
    assert list(tmp_path.iterdir()) == []
