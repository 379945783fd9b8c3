"""Exports and figures say what a supervisor takes them to say: the audit event names the door an
export went through (dashboard, api or cli); a file's name ends with the last day it covers; the
unmasked messages export holds the texter's number; reply times under ten minutes are shown to
the second, not floored to the minute."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from app.kit.db import utcnow
from app.supervisor.figures import reply_span
from tests.audit.test_export_cli import run
from tests.cases.test_actions_helpers import audits, load_case, open_case, update_case
from tests.dashboard.signin import add_user, page_csrf, post_login
from tests.helpers import token_for

BASE = "https://textline.example.org"
ALICE = "+447700900123"


def today() -> str:
    return utcnow().astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d")


def test_each_export_is_audited_with_the_door_it_went_through(app, client, database_url):
    open_case(client, app, "man with a knife at leeds now", ALICE)
    add_user(app, "sam", "supervisor")
    day = {"from": today(), "to": today()}
    with TestClient(app, base_url=BASE) as browser:
        assert post_login(browser, "sam").status_code == 303
        csrf = page_csrf(browser, "/supervisor")
        form = {"kind": "cases", "fmt": "csv", "csrf_token": csrf, **day}
        assert browser.post("/supervisor/export", data=form).status_code == 200
    api = client.get("/api/exports/cases.csv", params=day,
                     headers=token_for(app, "supervisor", "sally"))
    assert api.status_code == 200
    cli = run(["export", "cases", "--from", today(), "--to", today()], database_url,
              capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    events = audits(app, "export.created")
    assert [(e.actor.split(":")[0], e.data["via"]) for e in events] == [
        ("sam", "dashboard"), ("sally", "api"), ("cli", "cli")]


NAMES = [
    ("2026-12-01", "2026-12-07", "textline-cases-20261201-20261207.csv"),
    ("2026-07-01", "2026-07-01", "textline-cases-20260701-20260701.csv"),  # summer time
    ("2026-03-29", "2026-03-29", "textline-cases-20260329-20260329.csv"),  # clocks go forward
    ("2026-12-01", "2026-12-07T12:00:00Z", "textline-cases-20261201-20261207.csv"),
    ("2026-12-01", "2026-12-08T00:00:00Z", "textline-cases-20261201-20261207.csv"),  # excluded
]


def test_a_file_is_named_for_the_last_day_it_covers(app, client):
    headers = token_for(app, "supervisor", "sam")
    for start, end, name in NAMES:
        resp = client.get("/api/exports/cases.csv", params={"from": start, "to": end},
                          headers=headers)
        assert resp.status_code == 200
        assert resp.headers["content-disposition"] == f'attachment; filename="{name}"', end


def test_the_unmasked_messages_export_carries_the_texters_number(app, client):
    open_case(client, app, "man with a knife at leeds now", ALICE)
    headers = token_for(app, "supervisor", "sam")
    day = {"from": today(), "to": today()}
    pii = {**day, "include_pii": "true", "reason": "court order 5"}
    unmasked = client.get("/api/exports/messages.ndjson", headers=headers, params=pii)
    rows = [json.loads(line) for line in unmasked.text.splitlines()]
    assert {r["direction"] for r in rows} == {"inbound", "outbound"}  # the bot's replies too
    assert {r["reporter_phone"] for r in rows} == {ALICE}
    # In CSV the number is kept as text, as in the cases export ("+" would start a formula).
    sheet = client.get("/api/exports/messages.csv", headers=headers, params=pii)
    assert {r["reporter_phone"] for r in csv.DictReader(io.StringIO(sheet.text))} == {
        "'" + ALICE}
    masked = client.get("/api/exports/messages.ndjson", headers=headers, params=day)
    assert ALICE not in masked.text
    assert '"reporter_phone":"+44770090****"' in masked.text


def test_reply_times_below_ten_minutes_are_shown_to_the_second(app, client):
    case_id = open_case(client, app, "man with a knife at leeds now", ALICE)
    created = load_case(app, case_id).created_at
    update_case(app, case_id, first_bot_reply_at=created + timedelta(seconds=7),
                first_response_at=created + timedelta(seconds=118))
    add_user(app, "sam", "supervisor")
    with TestClient(app, base_url=BASE) as browser:
        assert post_login(browser, "sam").status_code == 303
        html = browser.get("/supervisor").text
    assert 'id="t-human">1 min 58 s<' in html and "90%: 1 min 58 s" in html
    assert 'id="t-bot">7 s<' in html
    assert "<td>7 s / 7 s</td><td>1 min 58 s / 1 min 58 s</td>" in html  # the per-day table


SPANS = [(0, "0 s"), (45.4, "45 s"), (59.6, "1 min 0 s"), (118, "1 min 58 s"),
         (117.5, "1 min 58 s"), (599.4, "9 min 59 s"), (599.6, "10 min"), (719.6, "12 min"),
         (3599.9, "1 h 00"), (7500, "2 h 05"), (3 * 86400, "3 d")]


def test_reply_span_rounds_to_the_unit_it_shows():
    assert [(seconds, reply_span(seconds)) for seconds, _ in SPANS] == SPANS
