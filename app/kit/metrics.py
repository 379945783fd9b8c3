"""The Prometheus instruments every domain counts into (prometheus-client).

Defined once, here, because prometheus-client keeps one registry per process: a second
definition of a name is an error. Under `textline serve --workers N` serve sets
PROMETHEUS_MULTIPROC_DIR before the workers start (app/kit/metrics_dir.py); each worker's
values are then files in it, and a scrape of any worker sums them all (app/ops/metrics.py).
Database figures are not here: they are read at each scrape (app/ops/metrics.py).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# The *_created series double every counter and histogram and nobody here alerts on them.
disable_created_metrics()

# What Twilio waits for: milliseconds, unless the database is slow.
WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# What the passenger waits for: seconds, with the 5 s the alert rules name as a bound.
ANSWER_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 20.0, 30.0, 60.0, 300.0)

WEBHOOK_SECONDS = Histogram(
    "textline_webhook_seconds",
    "Latency of POST /webhooks/twilio/sms, from the request's arrival to its answer's last byte, "
    "by status class.", ["status"], buckets=WEBHOOK_BUCKETS)
ANSWER_SECONDS = Histogram(
    "textline_answer_seconds",
    "From a text's arrival to the first answer to it that the SMS provider accepted.",
    buckets=ANSWER_BUCKETS)
PROCESSOR_LAG_SECONDS = Histogram(
    "textline_processor_lag_seconds",
    "From a text's arrival to the commit of its reading (case, conversation, decision).",
    buckets=ANSWER_BUCKETS)

TEXTS_RECEIVED = Counter(
    "textline_texts_received", "Texts stored (or spooled) and answered 200.")
REFUSAL_REASONS = ("signature", "duplicate", "malformed", "oversize")
TEXTS_REFUSED = Counter(
    "textline_texts_refused",
    "Inbound webhooks refused (signature, malformed, oversize: 4xx, nothing stored) or texts "
    "ignored as a MessageSid already read (duplicate).", ["reason"])
DECISIONS = Counter(
    "textline_decisions",
    "Decisions the dispatcher made or raised, by the rule that fired and the queue.",
    ["rule", "queue", "decision"])
SENDS = Counter(
    "textline_sends",
    "Outbox deliveries by kind (sms, integration), outcome (accepted, retry, failed) and the "
    "provider's error code (empty when none).", ["kind", "outcome", "code"])
AUDIT_APPENDS = Counter("textline_audit_appends", "Audit events appended to the chain.")
AUDIT_CHAIN_BROKEN = Gauge(
    "textline_audit_chain_broken",
    "1 when the last check of the audit hash chain found it broken, else 0.",
    multiprocess_mode="mostrecent")
AUDIT_CHAIN_CHECKED = Gauge(
    "textline_audit_chain_checked_timestamp_seconds",
    "When the audit hash chain was last checked (Unix time); 0 before the first check.",
    multiprocess_mode="max")

# Series that exist from the start, so that a rate() over them is 0 rather than absent.
WEBHOOK_SECONDS.labels(status="2xx")
for _reason in REFUSAL_REASONS:
    TEXTS_REFUSED.labels(reason=_reason)

