"""GET /metrics: Prometheus text, with the webhook histogram and the database figures."""

from __future__ import annotations

import re

from app.ops.metrics import Histogram
from tests.helpers import text_in, token_for


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample line, found by name and exact labels."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)$"
    found = [float(m.group(1)) for m in re.finditer(pattern, text, re.MULTILINE)]
    assert len(found) == 1, f"{name}{{{want}}} appears {len(found)} times"
    return found[0]


def test_histogram_buckets_are_cumulative():
    h = Histogram((0.01, 0.1, 1.0))
    for seconds in (0.005, 0.05, 0.05, 5.0):
        h.observe(seconds)
    lines = h.lines("x", 'a="b"')
    assert lines == ['x_bucket{a="b",le="0.01"} 1', 'x_bucket{a="b",le="0.1"} 3',
                     'x_bucket{a="b",le="1.0"} 3', 'x_bucket{a="b",le="+Inf"} 4',
                     'x_sum{a="b"} 5.105', 'x_count{a="b"} 4']


def test_metrics_count_webhooks_outbox_waiting_and_first_reply(client, app):
    empty = client.get("/metrics")
    assert empty.status_code == 200
    assert empty.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert sample(empty.text, "textline_webhook_seconds_count", status="2xx") == 0
    assert sample(empty.text, "textline_first_human_reply_seconds_count") == 0

    assert text_in(client, "man with a knife on platform 2 at leeds now", "+447700900201"
                   ).status_code == 200
    assert text_in(client, "someone left a bag, this was yesterday", "+447700900202"
                   ).status_code == 200
    assert client.post("/webhooks/twilio/sms", data={"From": "x"}).status_code in (400, 403)

    body = client.get("/metrics").text
    assert sample(body, "textline_webhook_seconds_count", status="2xx") == 2
    assert sample(body, "textline_webhook_seconds_bucket", status="2xx", le="+Inf") == 2
    assert sample(body, "textline_webhook_seconds_count", status="4xx") == 1
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
    body = client.get("/metrics").text
    assert sample(body, "textline_inbox_depth") == 1  # acknowledged, not yet read
    assert sample(body, "textline_inbox_oldest_seconds") >= 0
    # Every line is a comment or "name{labels} value".
    for line in body.splitlines():
        assert line.startswith("# ") or re.fullmatch(r"[a-z_]+(\{[^}]*\})? [-+0-9.eInf]+", line), line
