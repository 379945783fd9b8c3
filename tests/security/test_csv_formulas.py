"""A texter's words reach a supervisor's spreadsheet: a cell that a spreadsheet would run as a
formula goes out with a leading quote, however its start is hidden (a newline, a space, a
full-width "＝", an invisible character). Sent through the webhook, read back through the
export API, as a supervisor's spreadsheet would get them."""

from __future__ import annotations

import csv
import io

import pytest

from app.kit.db import utcnow
from tests.helpers import text_in, token_for

HIDDEN_FORMULAS = [
    "\n=1+1 and a man with a knife",
    " =1+1 man with a knife",
    "＝1+1 man with a knife",
    "\u200b=1+1 man with a knife",
    "\ufeff@SUM(A1) man with a knife",
    "\t=cmd|' /C calc'!A0 man with a knife",
]


@pytest.mark.parametrize("body", HIDDEN_FORMULAS)
def test_a_formula_hidden_at_the_start_of_a_text_is_quoted_in_the_export(app, client, body):
    text_in(client, body, "+447700900321")
    sup = token_for(app, "supervisor", "sam")
    day = utcnow().strftime("%Y-%m-%d")
    resp = client.get("/api/exports/messages.csv", params={"from": day, "to": day}, headers=sup)
    assert resp.status_code == 200, resp.text
    cells = [row["body"] for row in csv.DictReader(io.StringIO(resp.text))
             if row.get("author") == "reporter"]
    assert cells == ["'" + body]


def test_an_ordinary_text_is_left_as_it_was(app, client):
    body = "man with a knife on platform 2 at leeds, 2+2 people with him"
    text_in(client, body, "+447700900322")
    sup = token_for(app, "supervisor", "sam")
    day = utcnow().strftime("%Y-%m-%d")
    resp = client.get("/api/exports/messages.csv", params={"from": day, "to": day}, headers=sup)
    cells = [row["body"] for row in csv.DictReader(io.StringIO(resp.text))
             if row.get("author") == "reporter"]
    assert cells == [body]
