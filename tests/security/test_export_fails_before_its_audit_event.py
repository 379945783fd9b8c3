"""An export either is made or fails before the audit log says it was.

A range the database cannot hold is refused before anything is read (400). A range it accepts
then has its first batch read and encoded before the export.created event is written, so when
the database refuses that read the answer is a 503 with nothing recorded, not a 200 cut short
under an event claiming the export was made. The refusal here is the database's own: the table
the export joins is renamed away for the length of the request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import text

from app.kit.db import unit_of_work, utcnow
from tests.audit.test_export_cli import run
from tests.cases.test_actions_helpers import audits, open_case
from tests.dashboard.signin import add_user, page_csrf, post_login
from tests.helpers import token_for

BASE = "https://textline.example.org"
ALICE = "+447700900123"


def today() -> str:
    return utcnow().astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d")


@contextmanager
def reporters_gone(app: Any) -> Iterator[None]:
    """The cases and messages exports join reporters: while it is renamed, their query fails."""
    with unit_of_work(app.state.sessions) as s:
        s.execute(text("ALTER TABLE reporters RENAME TO reporters_away"))
    try:
        yield
    finally:
        with unit_of_work(app.state.sessions) as s:
            s.execute(text("ALTER TABLE reporters_away RENAME TO reporters"))


# Ranges a database cannot hold: refused before anything is read or recorded.
OUT_OF_RANGE = [("0001-01-01T00:00:00+01:00", "2026-12-31"), ("2026-01-01", "9999-12-31"),
                ("2026-01-01", "2199-12-31T23:59:59-23:59"), ("2026-12-31", "2026-01-01")]


def test_a_first_read_the_database_refuses_is_a_503_with_nothing_recorded(app, client):
    open_case(client, app, "man with a knife at leeds now", ALICE)
    headers = token_for(app, "supervisor", "sam")
    for start, end in OUT_OF_RANGE:
        resp = client.get("/api/exports/cases.csv", params={"from": start, "to": end},
                          headers=headers)
        assert resp.status_code == 400, (start, end, resp.status_code)
    query = {"from": today(), "to": today(), "include_pii": "true", "reason": "review 9"}
    with reporters_gone(app):
        for path in ("/api/exports/cases.csv", "/api/exports/messages.ndjson"):
            resp = client.get(path, params=query, headers=headers)
            assert resp.status_code == 503, (path, resp.status_code)
            assert "nothing was exported or recorded" in resp.json()["detail"]
        assert audits(app, "export.created") == []
    # The same request, with the database able to answer, is made and recorded once.
    made = client.get("/api/exports/cases.csv", params=query, headers=headers)
    assert made.status_code == 200 and ALICE in made.text
    [event] = audits(app, "export.created")
    assert event.data["via"] == "api"


def test_the_dashboard_form_fails_the_same_way(app, client):
    open_case(client, app, "man with a knife at leeds now", ALICE)
    add_user(app, "sam", "supervisor")
    with TestClient(app, base_url=BASE) as browser:
        assert post_login(browser, "sam").status_code == 303
        csrf = page_csrf(browser, "/supervisor")
        form = {"kind": "cases", "fmt": "csv", "from": today(), "to": today(),
                "csrf_token": csrf}
        with reporters_gone(app):
            page = browser.post("/supervisor/export", data=form)
        assert page.status_code == 503
        assert 'id="export-error"' in page.text and "nothing was exported" in page.text
        assert audits(app, "export.created") == []
        assert browser.post("/supervisor/export", data=form).status_code == 200
    assert len(audits(app, "export.created")) == 1


def test_the_command_line_fails_the_same_way(app, client, database_url, tmp_path):
    open_case(client, app, "man with a knife at leeds now", ALICE)
    out = tmp_path / "cases.csv"
    args = ["export", "cases", "--from", today(), "--to", today(), "-o", str(out)]
    with reporters_gone(app):
        failed = run(args, database_url, capture_output=True, text=True)
    assert failed.returncode == 1 and failed.stderr.count("\n") == 1
    assert "nothing was exported or recorded" in failed.stderr
    assert not out.exists()  # no empty file left as if it were the export
    assert audits(app, "export.created") == []
    done = run(args, database_url, capture_output=True, text=True)
    assert done.returncode == 0 and out.read_text().startswith("id,reference")
    assert [e.data["via"] for e in audits(app, "export.created")] == ["cli"]
