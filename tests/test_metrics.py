"""GET /metrics: Prometheus text, with the webhook histogram and the database figures.

The counters and histograms are the process's (prometheus-client's registry), shared by every
app a test process builds: these tests compare figures before and after, never with zero."""

from __future__ import annotations

import re

from app.sms.worker import drain_once
from tests.helpers import signed_headers, sms_form, text_in, token_for

_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", re.MULTILINE)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of a scrape: name, labels, value."""
    return [(m.group(1), dict(_LABEL.findall(m.group(2) or "")), float(m.group(3)))
            for m in _LINE.finditer(text)]


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample, found by name and exact labels (in any order)."""
    found = [v for n, ls, v in samples(text) if n == name and ls == labels]
    assert len(found) == 1, f"{name}{labels} appears {len(found)} times"
    return found[0]


def test_metrics_count_webhooks_outbox_waiting_and_first_reply(client, app):
    empty = client.get("/metrics")
    assert empty.status_code == 200
    assert empty.headers["content-type"].startswith("text/plain; version=0.0.4")
    before = empty.text
    assert sample(before, "textline_first_human_reply_seconds_count") == 0
    assert sample(before, "textline_last_text_received_timestamp_seconds") == 0

    def more(body: str, name: str, **labels: str) -> float:
        """How much a figure grew since the first scrape (a series not yet there was 0)."""
        was = [v for n, ls, v in samples(before) if n == name and ls == labels]
        return sample(body, name, **labels) - sum(was)

    assert text_in(client, "man with a knife on platform 2 at leeds now", "+447700900201"
                   ).status_code == 200
    assert text_in(client, "someone left a bag, this was yesterday", "+447700900202"
                   ).status_code == 200
    assert client.post("/webhooks/twilio/sms", data={"From": "x"}).status_code in (400, 403)

    body = client.get("/metrics").text
    assert more(body, "textline_webhook_seconds_count", status="2xx") == 2
    assert more(body, "textline_webhook_seconds_bucket", status="2xx", le="+Inf") == 2
    assert sample(body, "textline_webhook_seconds_count", status="4xx") >= 1
    assert more(body, "textline_texts_received_total") == 2
    assert more(body, "textline_processor_lag_seconds_count") == 2
    assert more(body, "textline_audit_appends_total") > 0
    assert sample(body, "textline_decisions_total", rule="severe-now", queue="emergency",
                  decision="999") >= 1
    assert sample(body, "textline_cases_open", priority="P1") == 1
    assert sample(body, "textline_last_text_received_timestamp_seconds") > 0
    assert sample(body, "process_cpu_seconds_total") > 0  # the default collectors
    assert sample(body, "textline_database_up") == 1
    assert sample(body, "textline_cases_waiting", priority="P1") == 1
    assert sum(sample(body, "textline_cases_waiting", priority=p)
               for p in ("P1", "P2", "P3", "none")) == 2
    # The bot's replies wait in the outbox (no worker runs here); the texts are all read.
    bot_replies = sample(body, "textline_outbox_depth", kind="sms", state="pending")
    assert bot_replies >= 2
    assert sample(body, "textline_inbox_depth") == 0
    assert sample(body, "textline_inbox_oldest_seconds") == 0

    headers = token_for(app)
    case_id = client.get("/api/cases?phone=%2B447700900201", headers=headers).json()["items"][0]["id"]
    reply = client.post(f"/api/cases/{case_id}/messages", json={"body": "Police are on the way"},
                        headers=headers)
    assert reply.status_code == 201

    body = client.get("/metrics").text
    assert sample(body, "textline_outbox_depth", kind="sms", state="pending") == bot_replies + 1
    assert sample(body, "textline_outbox_oldest_seconds", kind="sms") >= 0
    assert sample(body, "textline_cases_waiting", priority="P1") == 0
    assert sample(body, "textline_first_human_reply_seconds_count") == 1
    assert sample(body, "textline_first_human_reply_seconds", quantile="0.5") >= 0
    assert text_in(client, "hello?", "+447700900203", read=False).status_code == 200
    assert more(body, "textline_texts_refused_total", reason="signature") == 1

    # Twilio's retry of a text already read: 200, ignored, counted as a duplicate.
    again = "SM" + "9" * 32
    for _ in range(2):
        assert text_in(client, "is anyone there", "+447700900204", sid=again).status_code == 200
    form = sms_form("x" * 1700, "+447700900205")
    oversize = client.post("/webhooks/twilio/sms", data=form, headers=signed_headers(form))
    assert oversize.status_code == 400
    # The answers: each text's first reply accepted by the (console) provider.
    assert drain_once(app.state.runtime) > 0
    body = client.get("/metrics").text
    assert more(body, "textline_texts_refused_total", reason="duplicate") == 1
    assert more(body, "textline_texts_refused_total", reason="oversize") == 1
    assert more(body, "textline_answer_seconds_count") == 4  # texts 201, 202, 203, 204
    assert more(body, "textline_sends_total", kind="sms", outcome="accepted", code="") >= 5
    assert sample(body, "textline_inbox_depth") == 0
    assert text_in(client, "hello again?", "+447700900206", read=False).status_code == 200
    body = client.get("/metrics").text
    assert sample(body, "textline_inbox_depth") == 1  # acknowledged, not yet read
    assert sample(body, "textline_inbox_oldest_seconds") >= 0
    # Every line is a comment or "name{labels} value".
    for line in body.splitlines():
        assert line.startswith("# ") or re.fullmatch(r"[a-z_]+(\{[^}]*\})? [-+0-9.eInfa]+", line), line
