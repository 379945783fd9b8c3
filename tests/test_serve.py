"""`textline serve` as a newcomer starts it, a real process: the banner on standard output (the
address, the demo sign-in, the unsigned-webhook warning), the logs on standard error, readable
on a terminal and JSON elsewhere, also from each of several workers."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.harness import free_port, stop, wait_ready

ROOT = Path(__file__).resolve().parents[1]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CLOCK_LINE = re.compile(r"^\d\d:\d\d:\d\d (INFO|WARNING) +[\w.]+: ")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTLINE_")}
    env["PYTHONPATH"] = str(ROOT)  # `python -m app` from another folder finds this checkout
    return {**env, **extra}


@contextlib.contextmanager
def serving(cwd: Path, port: int, *extra: str, env: dict[str, str] | None = None,
            stderr: int | None = None) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """The server and its banner (every line before the first log line it prints)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), *extra],
        cwd=cwd, env=env or _env(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if stderr is None else stderr, text=True, start_new_session=True)
    try:
        banner: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:  # ends at the warning, the banner's last lines here
            banner.append(line.rstrip("\n"))
            if "internet so." in line:
                break
        wait_ready(f"http://127.0.0.1:{port}/readyz", proc)  # type: ignore[arg-type]
        yield proc, banner
    finally:
        stop(proc)  # type: ignore[arg-type]


def _signs_in(port: int, username: str, password: str) -> bool:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        token = _CSRF.search(client.get("/login").text)
        assert token
        resp = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token.group(1), "next": "/"})
        # A one-time password signs in straight to the page that changes it.
        return resp.status_code == 303 and resp.headers["location"] == "/password"


def test_first_demo_start_gives_address_passwords_and_warning(tmp_path):
    port = free_port()
    with serving(tmp_path, port, "--demo") as (proc, banner):
        text = "\n".join(banner)
        assert f"Dashboard:  http://127.0.0.1:{port}/" in text
        demo = dict(re.findall(r"^ {4}(operator|supervisor) +(\S+)$", text, re.MULTILINE))
        assert set(demo) == {"operator", "supervisor"}, text
        assert _signs_in(port, "operator", demo["operator"])
        assert _signs_in(port, "supervisor", demo["supervisor"])
        assert "WARNING: webhooks are accepted unsigned" in text
        assert f"simulate --url http://127.0.0.1:{port}" in text
        assert not any(line.startswith("{") for line in banner)  # no log line among them
    _out, err = proc.communicate(timeout=10)
    # Standard error is a pipe here, not a terminal: JSON lines, one object each.
    entries = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert any(e["level"] == "warning" and "UNSIGNED" in e["msg"] for e in entries), err


def test_second_demo_start_says_the_users_exist_and_how_to_reset(tmp_path):
    from app.auth.demo import create_demo_users
    from app.kit import migrate
    from app.kit.config import Settings

    url = f"sqlite:///{tmp_path / 'textline.db'}"  # where serve's default puts it, in that folder
    migrate.upgrade(url)
    assert len(create_demo_users(Settings(database_url=url)).created) == 2  # the first start's
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def read_terminal() -> None:
        with contextlib.suppress(OSError):  # EIO once the server, the last writer, has gone
            while data := os.read(master, 4096):
                chunks.append(data)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    port = free_port()
    try:
        with serving(tmp_path, port, "--demo", stderr=slave) as (_proc, banner):
            os.close(slave)
            text = "\n".join(banner)
            assert "Demo users operator and supervisor already exist" in text, text
            hint = re.search(r"Forgotten\? (.+ user reset-password operator)", text)
            assert hint, text
            assert not re.search(r"^ {4}operator +\S+$", text, re.MULTILINE)  # no password
            # The hint, as printed, is a command that works (from the same folder).
            argv = hint.group(1).split()
            assert argv[0] == "textline"
            done = subprocess.run([sys.executable, "-m", "app", *argv[1:], "--password-stdin"],
                                  input="a-brand-new-passphrase-42\n", cwd=tmp_path, env=_env(),
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            assert _signs_in(port, "operator", "a-brand-new-passphrase-42")
    finally:
        reader.join(timeout=10)
        os.close(master)
    terminal = b"".join(chunks).decode().replace("\r\n", "\n").splitlines()
    # Standard error is a terminal: readable lines with the time, never JSON.
    assert any(_CLOCK_LINE.match(line) and "UNSIGNED" in line for line in terminal), terminal
    assert not any(line.startswith("{") for line in terminal), terminal


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_each_of_two_workers_logs(database_url, tmp_path):
    """uvicorn starts each worker as a new interpreter: each sets up its own logs, so that
    their INFO lines reach standard error too."""
    port = free_port()
    env = _env(TEXTLINE_DATABASE_URL=database_url, TEXTLINE_SPOOL_DIR=str(tmp_path / "spool"))
    with serving(tmp_path, port, "--workers", "2", "--host", "0.0.0.0", env=env) as (proc, banner):
        text = "\n".join(banner)
        assert "Textline is starting on every address of this host (2 workers" in text
        assert f"Dashboard:  http://127.0.0.1:{port}/" in text
        assert "postgresql" in text and "@" not in text  # never a password of the URL
    _out, err = proc.communicate(timeout=15)
    entries = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    started = [e for e in entries if e["msg"] == "Application startup complete."]
    assert len(started) == 2, err


def test_banner_of_a_production_start_has_no_demo_hint_nor_warning():
    from app.kit.config import Settings
    from app.startup.banner import local_url, serve_banner

    settings = Settings(_env_file=None, database_url="postgresql+psycopg://tl:s3cr3t-pass@db:5432/tl",
                        public_url="https://textline.example.org", sms_provider="twilio",
                        twilio_account_sid="AC1", twilio_auth_token="an-auth-token-0123456789",
                        twilio_from="61016")
    text = serve_banner(settings, "::", 8000, 2, None, ".venv/bin/textline")
    assert "every address of this host (2 workers; postgresql at db/tl; SMS Twilio)" in text
    assert "Twilio calls: https://textline.example.org/webhooks/twilio/sms" in text
    assert "s3cr3t" not in text  # the database password never printed
    for absent in ("WARNING", "Demo", "simulate"):
        assert absent not in text
    assert local_url("::1", 8000) == "http://[::1]:8000"
