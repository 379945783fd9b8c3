"""`textline export` and its progress bar, run as a real subprocess."""

from __future__ import annotations

import getpass
import io
import json
import os
import pty
import subprocess
import sys
from zoneinfo import ZoneInfo

from app.audit.cli import ProgressBar
from app.kit.db import utcnow
from tests.cases.test_actions_helpers import audits, open_case

ALICE = "+447700900123"


def run(args: list[str], database_url: str, **kw) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTLINE_")}
    env["TEXTLINE_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "app", *args], env=env, timeout=60, **kw)


def today() -> str:
    return utcnow().astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d")


def test_export_to_a_file_is_masked_and_audited(app, client, database_url, tmp_path):
    case_id = open_case(client, app, "someone following me at leeds", ALICE)
    out = tmp_path / "cases.ndjson"
    done = run(["export", "cases", "--from", today(), "--to", today(), "--format", "ndjson",
                "-o", str(out)], database_url, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # not a terminal: no progress bar
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["id"] == case_id and row["reporter_phone"] == "+44770090****"
    [event] = audits(app, "export.created")
    assert event.actor == f"cli:{getpass.getuser()}" and event.data["via"] == "cli"


def test_export_with_personal_data_needs_a_reason(app, client, database_url):
    open_case(client, app, "someone following me at leeds", ALICE)
    refused = run(["export", "messages", "--from", today(), "--to", today(), "--include-pii"],
                  database_url, capture_output=True, text=True)
    assert refused.returncode == 2  # a usage error
    assert refused.stderr.strip() == "textline: --include-pii needs --reason TEXT (it is audited)"
    done = run(["export", "cases", "--from", today(), "--to", today(), "--include-pii",
                "--reason", "court order 7"], database_url, capture_output=True, text=True)
    assert done.returncode == 0 and ALICE in done.stdout
    assert done.stdout.splitlines()[0].startswith("id,reference,created_at")
    [event] = audits(app, "export.created")
    assert event.data["reason"] == "court order 7" and event.data["include_pii"] is True
    bad = run(["export", "cases", "--from", "yesterday", "--to", today()], database_url,
              capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "not a date" in bad.stderr
    usage = run(["export", "people", "--from", today(), "--to", today()], database_url,
                capture_output=True, text=True)
    assert usage.returncode == 2


def test_progress_bar_on_a_terminal(app, client, database_url, tmp_path):
    open_case(client, app, "someone following me at leeds", ALICE)
    main, child = pty.openpty()
    try:
        done = run(["export", "messages", "--from", today(), "--to", today(), "-o",
                    str(tmp_path / "m.csv")], database_url, stderr=child, stdout=subprocess.PIPE)
        os.close(child)
        shown = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(main)
    assert done.returncode == 0
    text = shown.decode()
    assert "[" + "#" * 30 + "]" in text and "100%" in text
    assert (tmp_path / "m.csv").read_text().count("\n") >= 3


def test_progress_bar_draws_its_share():
    out = io.StringIO()
    bar = ProgressBar(200, out, width=10)
    bar.advance(100)
    bar.finish()
    assert "\r[#####-----] 100/200 rows  50%" in out.getvalue()
    assert out.getvalue().endswith("\n")
