"""The `textline` command, run as a real subprocess against a migrated database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import token_for
from tests.live import live_server


def run(args: list[str], env_extra: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTLINE_")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "app", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=60)


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


def test_simulate_conversation_appears_in_the_api(env, settings_kwargs):
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
    with live_server(app, port):
        done = run(["simulate", "--from", "+447700900778"],
                   {**env, "TEXTLINE_TWILIO_AUTH_TOKEN": token, "TEXTLINE_PUBLIC_URL": public},
                   stdin="a man is shouting at people at leeds\nhes still here\n")
    assert done.returncode == 0, done.stderr
    assert "61016> " in done.stdout
    with TestClient(app) as c:
        items = c.get("/api/cases?phone=%2B447700900778", headers=headers).json()["items"]
        assert len(items) == 1
        case = c.get(f"/api/cases/{items[0]['id']}", headers=headers).json()
    bodies = [(m["author"], m["body"]) for m in case["messages"]]
    assert ("reporter", "a man is shouting at people at leeds") in bodies
    assert ("reporter", "hes still here") in bodies
    bot = [b for a, b in bodies if a == "bot"]
    assert bot and case["reference"] in bot[0]
    assert case["reference"] in done.stdout


def test_serve_refuses_a_bad_routing_file_naming_the_rule(env, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: night\n    when: {imediacy: [now]}\n"
                     "    then: {decision: '999', queue: q, priority: P1}\n"
                     "  - name: rest\n    then: {decision: '101', queue: g, priority: P3}\n")
    done = run(["serve"], {**env, "TEXTLINE_ROUTING_FILE": str(rules)})
    assert done.returncode == 1
    line = done.stderr.strip()
    assert "\n" not in line and "night" in line and "imediacy" in line


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_serve_refuses_several_workers_on_sqlite(env):
    # Each process would have its own live events: dashboards would miss texts read elsewhere.
    done = run(["serve", "--workers", "2"], env)
    assert done.returncode == 1
    assert "PostgreSQL" in done.stderr and "Traceback" not in done.stderr
    assert run(["serve", "--workers", "0"], env).returncode == 1
