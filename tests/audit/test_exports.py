"""Exports through HTTP (API.md section 4): formats, the date range, masking, formula cells, audit."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.audit.exports import build_request, neutralise, parse_bound
from app.kit.db import unit_of_work, utcnow
from app.kit.errors import BadRequest
from app.models import Message
from tests.cases.test_actions_helpers import audits, open_case, update_case
from tests.helpers import text_in, token_for

LONDON = ZoneInfo("Europe/London")  # the settings' default time zone
ALICE, BOB = "+447700900123", "+447700900456"


@pytest.fixture
def sup(app):  # type: ignore[no-untyped-def]
    return token_for(app, "supervisor", "sam")


@pytest.fixture
def cases(app, client):  # type: ignore[no-untyped-def]
    first = open_case(client, app, "man with a knife at leeds now", ALICE)
    text_in(client, "=HYPERLINK(\"http://x\") call me on +447700900999", ALICE)
    second = open_case(client, app, "lads being loud at york", BOB)
    return first, second


def today() -> str:
    return utcnow().astimezone(LONDON).strftime("%Y-%m-%d")


def get(client, path, headers, **params):  # type: ignore[no-untyped-def]
    params = {"from": today(), "to": today(), **params}
    return client.get(path, params=params, headers=headers)


def rows_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def rows_ndjson(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_cases_csv_masks_phones_and_names_the_file(client, sup, cases):
    resp = get(client, "/api/exports/cases.csv", sup)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert 'filename="textline-cases-' in resp.headers["content-disposition"]
    rows = rows_csv(resp.text)
    assert [int(r["id"]) for r in rows] == list(cases)
    # the masked number starts with "+", so it is neutralised like any formula-looking cell
    assert rows[0]["reporter_phone"] == "'+44770090****"
    assert rows[0]["decision"] == "999" and rows[0]["priority"] == "P1"
    assert "weapon" in rows[0]["risks"]
    assert ALICE not in resp.text and BOB not in resp.text


def test_messages_ndjson_masks_numbers_inside_bodies(client, sup, cases):
    rows = rows_ndjson(get(client, "/api/exports/messages.ndjson", sup).text)
    bodies = [r["body"] for r in rows if r["direction"] == "inbound"]
    assert bodies[0] == "man with a knife at leeds now"
    assert bodies[1] == "=HYPERLINK(\"http://x\") call me on +44770090****"
    assert {r["case_id"] for r in rows} == set(cases)
    assert any(r["author"] == "bot" for r in rows)


def test_csv_cells_that_could_run_as_formulas_are_neutralised(client, sup, cases):
    rows = rows_csv(get(client, "/api/exports/messages.csv", sup).text)
    [cell] = [r["body"] for r in rows if "HYPERLINK" in r["body"]]
    assert cell.startswith("'=HYPERLINK")
    for value in ("=1+1", "+1", "-2", "@SUM(A1)", "\t=x", "\r=x"):
        assert neutralise(value) == "'" + value
    assert neutralise("plain") == "plain" and neutralise("") == ""


def test_personal_data_needs_a_reason_and_is_audited(app, client, sup, cases):
    refused = get(client, "/api/exports/cases.ndjson", sup, include_pii="true")
    assert refused.status_code == 400 and "reason" in refused.json()["detail"]
    resp = get(client, "/api/exports/cases.ndjson", sup, include_pii="true",
               reason="subject access request 42")
    assert resp.status_code == 200
    phones = [r["reporter_phone"] for r in rows_ndjson(resp.text)]
    assert phones == [ALICE, BOB]
    messages = get(client, "/api/exports/messages.csv", sup, include_pii="true", reason="court")
    assert "+447700900999" in messages.text
    events = audits(app, "export.created")
    assert [e.data["include_pii"] for e in events] == [True, True]
    assert events[0].actor == "sam"
    assert events[0].data["reason"] == "subject access request 42"
    assert events[0].data["kind"] == "cases" and events[0].data["format"] == "ndjson"


def test_every_export_is_audited_even_masked(app, client, sup, cases):
    get(client, "/api/exports/audit.csv", sup)
    [event] = audits(app, "export.created")
    assert event.data["kind"] == "audit" and event.data["include_pii"] is False


def test_only_supervisors_may_export(app, client, cases):
    operator = token_for(app, "operator", "olly")
    assert get(client, "/api/exports/cases.csv", operator).status_code == 403
    assert get(client, "/api/exports/cases.csv", {}).status_code == 401
    admin = token_for(app, "admin", "ada")
    assert get(client, "/api/exports/cases.csv", admin).status_code == 200


def test_the_date_range_filters_rows(app, client, sup, cases):
    first, second = cases
    old = utcnow() - timedelta(days=10)
    update_case(app, first, created_at=old)
    with unit_of_work(app.state.sessions) as s:
        s.query(Message).filter(Message.case_id == first).update({"created_at": old})
    ids = [int(r["id"]) for r in rows_csv(get(client, "/api/exports/cases.csv", sup).text)]
    assert ids == [second]
    day = old.astimezone(LONDON).strftime("%Y-%m-%d")
    ids = [r["id"] for r in rows_ndjson(get(client, "/api/exports/cases.ndjson", sup,
                                            **{"from": day, "to": day}).text)]
    assert ids == [first]
    msgs = rows_ndjson(get(client, "/api/exports/messages.ndjson", sup).text)
    assert {m["case_id"] for m in msgs} == {second}


def test_audit_export_carries_the_chain(client, sup, cases):
    rows = rows_ndjson(get(client, "/api/exports/audit.ndjson", sup).text)
    seqs = [r["seq"] for r in rows]
    assert seqs == sorted(seqs) and seqs[0] == 1
    for before, after in zip(rows, rows[1:], strict=False):
        assert after["prev_hash"] == before["hash"]
    assert any(r["action"] == "case.opened" for r in rows)


def test_bad_requests_are_400_or_422(client, sup):
    assert get(client, "/api/exports/cases.xml", sup).status_code == 422
    assert get(client, "/api/exports/people.csv", sup).status_code == 422
    assert get(client, "/api/exports/cases.csv", sup, **{"from": "2026-13-40"}).status_code == 400
    backwards = get(client, "/api/exports/cases.csv", sup, **{"from": "2026-11-02",
                                                              "to": "2026-11-01"})
    assert backwards.status_code == 400
    assert client.get("/api/exports/cases.csv", headers=sup).status_code == 422


def test_bounds_are_local_days_with_the_last_day_included():
    london = LONDON
    assert parse_bound("2026-07-01", london, end=False) == datetime(2026, 6, 30, 23, tzinfo=UTC)
    assert parse_bound("2026-07-01", london, end=True) == datetime(2026, 7, 1, 23, tzinfo=UTC)
    assert parse_bound("2026-07-01T12:00:00Z", london, end=True) == datetime(
        2026, 7, 1, 12, tzinfo=UTC)
    with pytest.raises(BadRequest):
        build_request("cases", "csv", "2026-01-01", "2026-01-02", london, include_pii=True,
                      reason="   ")


@pytest.mark.parametrize(
    "value", ["\n=1+1", " =1+1", "＝1+1", "\u200b=1+1", "\ufeff@SUM(A1)", "  -2+3", "\t=cmd"]
)
def test_formulas_hidden_behind_space_width_or_invisible_characters_are_neutralised(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["hello = world", "a-b", "2+2 seats", "   plain"])
def test_ordinary_cells_are_left_alone(value):
    assert neutralise(value) == value


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-01-01", "9999-12-31"), ("0001-01-01T00:00:00+01:00", "2026-12-31"),
     ("1900-01-01", "2026-12-31"), ("2026-01-01", "2300-01-01")],
)
def test_dates_out_of_range_are_refused_not_a_500(client, sup, start, end):
    resp = client.get("/api/exports/cases.csv", params={"from": start, "to": end}, headers=sup)
    assert resp.status_code == 400
    assert "range" in resp.json()["detail"] or "date" in resp.json()["detail"]
