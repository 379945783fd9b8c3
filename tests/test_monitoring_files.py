"""The example alert rules and the Grafana dashboard name only metrics a real scrape has.

A text goes through the webhook, the processor and the outbox (console provider), a bad
signature is refused, the audit chain is checked; then every metric name in
deploy/prometheus/alerts.yml and deploy/grafana/textline.json must appear in GET /metrics.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from app.audit.service import check_chain
from app.sms.worker import drain_once
from tests.helpers import text_in, token_for
from tests.test_metrics import samples

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "textline.json"
NAME = re.compile(r"\b((?:textline|process)_[a-z_]+)\b")


def _expressions() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())["groups"]
    exprs = [rule["expr"] for group in rules for rule in group["rules"]]
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs += [target["expr"] for panel in panels for target in panel["targets"]]
    return exprs


def test_the_files_hold_the_rules_the_runbook_names():
    rules = yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]
    alerts = {rule["alert"]: rule["expr"] for rule in rules}
    assert "textline_inbox_oldest_seconds) > 30" in alerts["TextlineInboxWaiting"]
    assert "histogram_quantile(0.99" in alerts["TextlineAnswersSlow"]
    assert "> 5" in alerts["TextlineAnswersSlow"]
    assert 'outcome="failed"' in alerts["TextlineOutboxFailures"]
    assert "textline_audit_chain_broken" in alerts["TextlineAuditChainBroken"]
    assert "textline_last_text_received_timestamp_seconds" in alerts["TextlineQuiet"]
    assert all(rule.get("labels", {}).get("severity") for rule in rules)


def test_every_metric_the_rules_and_dashboard_name_is_in_a_real_scrape(client):
    rt = client.app.state.runtime
    assert text_in(client, "man with a knife on platform 2 at leeds now",
                   "+447700900301").status_code == 200
    assert client.post("/webhooks/twilio/sms", data={"From": "x"}).status_code == 403
    headers = token_for(client.app)
    case_id = client.get("/api/cases", headers=headers).json()["items"][0]["id"]
    assert client.post(f"/api/cases/{case_id}/messages", json={"body": "Officers are coming"},
                       headers=headers).status_code == 201  # a first human reply
    assert drain_once(rt) > 0  # the answers, accepted by the console provider
    check_chain(rt.sessions)
    scraped = {name for name, _labels, _value in samples(client.get("/metrics").text)}

    named = {n for expr in _expressions() for n in NAME.findall(expr)}
    assert len(named) >= 15
    missing = sorted(n for n in named if n not in scraped)
    assert not missing, f"named in the rules or dashboard but not scraped: {missing}"
