"""GET /metrics in the Prometheus text format, by prometheus-client (docs/monitoring.md).

Two kinds of figure, joined in one answer:
- what this server counted as it worked (app/kit/metrics.py: the webhook's latency, texts
  received and refused, decisions, sends, answer latency, processor lag, audit appends, the
  audit chain's last check), with prometheus-client's process and platform collectors. Under
  `textline serve --workers N` each worker writes these into PROMETHEUS_MULTIPROC_DIR and a
  scrape, whichever worker answers it, sums all of them (process_* figures are the answering
  worker's own);
- what the database holds, read at each scrape by DatabaseFigures: the same whichever process
  answers, so never summed. The spool's figures are this process's own spool file.

With TEXTLINE_METRICS_TOKEN set, a scrape must send it as `Authorization: Bearer <token>`
(Prometheus: `authorization: {credentials: ...}`); without it, anyone who can reach the port may
read the figures (docs/security.md).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.inbox.reader import inbox_depth
from app.kit.db import utcnow
from app.kit.metrics import WEBHOOK_SECONDS
from app.kit.runtime import Runtime
from app.models import Case, CaseAlert, Outbox
from app.models import Message as MessageRow
from app.sms.signed_form import INBOUND_PATH

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
QUANTILES = (0.5, 0.9, 0.99)
REPLY_WINDOW = timedelta(hours=24)
PRIORITIES = ("P1", "P2", "P3", "none")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

router = APIRouter(include_in_schema=False)


class WebhookTimer:
    """ASGI middleware timing POST /webhooks/twilio/sms into textline_webhook_seconds by status
    class.

    It tells the webhook from other requests by the route the router matched (scope["route"],
    set by the time the answer starts), not by a path of its own: the histogram is the
    webhook's latency, what Twilio waits for, and must not mix in any other route's.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._by_class: dict[int, Any] = {}  # labels() looks up under a lock: once a class

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if getattr(scope.get("route"), "path", None) == INBOUND_PATH:
                cls = status // 100
                hist = self._by_class.get(cls)
                if hist is None:
                    hist = self._by_class[cls] = WEBHOOK_SECONDS.labels(status=f"{cls}xx")
                hist.observe(time.perf_counter() - began)


def _quantiles(values: list[float]) -> dict[float, float]:
    if not values:
        return {}
    values = sorted(values)
    return {q: values[min(len(values) - 1, int(q * len(values)))] for q in QUANTILES}


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class DatabaseFigures(Collector):
    """What waits and for how long, read from the database (and this process's spool) at
    each scrape. The database's figures are left out, with the process's still given, while
    the database is away."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[Metric]:
        yield from self._spool()
        try:
            figures = list(self._database())
        except DBAPIError:
            yield _gauge("textline_database_up", "1 when this scrape could read the database.", 0)
            return
        yield _gauge("textline_database_up", "1 when this scrape could read the database.", 1)
        yield from figures

    def _spool(self) -> Iterator[Metric]:
        spool = self.rt.spool
        waiting, age, kept = (0, 0.0, 0) if spool is None else spool.depth()
        yield _gauge("textline_spool_depth", "Texts answered 200 while the database was away, "
                     "kept on this process's local disk and not yet in the inbox.", waiting)
        yield _gauge("textline_spool_oldest_seconds", "Age of the oldest spooled text.", age)
        yield _gauge("textline_spool_kept_aside", "Spooled texts the database refused, kept on "
                     "local disk for a person (docs/outage.md).", kept)

    def _database(self) -> Iterator[Metric]:
        now = utcnow()
        with self.rt.read_sessions() as session:  # type: ignore[misc]
            depth = session.execute(
                select(Outbox.kind, Outbox.state, func.count(), func.min(Outbox.created_at))
                .where(Outbox.state.in_(("pending", "sending")))
                .group_by(Outbox.kind, Outbox.state)
            ).all()
            failed = session.execute(
                select(Outbox.kind, func.count()).where(Outbox.state == "failed")
                .group_by(Outbox.kind)
            ).all()
            open_cases = session.execute(
                select(Case.priority, func.count(),
                       func.count().filter(Case.first_response_at.is_(None),
                                           Case.assigned_to_id.is_(None)))
                .where(Case.status == "open").group_by(Case.priority)
            ).all()
            replies = session.execute(
                select(Case.created_at, Case.first_response_at)
                .where(Case.first_response_at >= now - REPLY_WINDOW)
            ).all()
            last_text = session.execute(
                select(func.max(MessageRow.created_at)).where(MessageRow.direction == "inbound")
            ).scalar_one()
            alerts = session.execute(
                select(CaseAlert.reason, func.count(), func.count(CaseAlert.id).filter(
                    CaseAlert.cleared_at.is_(None)))
                .group_by(CaseAlert.reason)
            ).all()
            unread, unread_age = inbox_depth(session, now)
            session.rollback()
        landing = getattr(self.rt.inbox, "landing", None)
        if landing is not None:  # acknowledged too, and moved into the inbox by the reader
            unread += landing.depth()

        yield _gauge("textline_inbox_depth", "Texts acknowledged to Twilio and not yet read.",
                     unread)
        yield _gauge("textline_inbox_oldest_seconds", "How long the oldest unread text has "
                     "waited.", unread_age)

        outbox = GaugeMetricFamily("textline_outbox_depth", "Outbox rows waiting to be "
                                   "delivered, by kind and state.", labels=["kind", "state"])
        oldest = GaugeMetricFamily("textline_outbox_oldest_seconds", "Age of the oldest "
                                   "undelivered outbox row.", labels=["kind"])
        given_up = GaugeMetricFamily("textline_outbox_failed", "Outbox rows given up on "
                                     "(failed for good), by kind.", labels=["kind"])
        ages: dict[str, float] = {}
        for kind, _state, _n, first in depth:
            if first is not None:
                ages[kind] = max(ages.get(kind, 0.0), (now - first).total_seconds(), 0.0)
        failed_by_kind = dict(failed)
        for kind in ("sms", "integration"):
            for state in ("pending", "sending"):
                n = next((c for k, s, c, _ in depth if k == kind and s == state), 0)
                outbox.add_metric([kind, state], n)
            oldest.add_metric([kind], ages.get(kind, 0.0))
            given_up.add_metric([kind], failed_by_kind.get(kind, 0))
        yield outbox
        yield oldest
        yield given_up

        opened = GaugeMetricFamily("textline_cases_open", "Open cases, by priority.",
                                   labels=["priority"])
        waiting = GaugeMetricFamily("textline_cases_waiting", "Open cases no person has "
                                    "answered or claimed yet, by priority.", labels=["priority"])
        by_priority = {p or "none": (n, w) for p, n, w in open_cases}
        for priority in PRIORITIES:
            n, w = by_priority.get(priority, (0, 0))
            opened.add_metric([priority], n)
            waiting.add_metric([priority], w)
        yield opened
        yield waiting

        delays = [max(0.0, (answered - began).total_seconds()) for began, answered in replies]
        first_reply = SummaryMetricFamily(
            "textline_first_human_reply_seconds", "From a case's opening to its first operator "
            "reply, cases answered in the last 24 hours.", count_value=len(delays),
            sum_value=sum(delays))
        for q, v in _quantiles(delays).items():
            first_reply.samples.append(first_reply.samples[0]._replace(
                name="textline_first_human_reply_seconds", labels={"quantile": str(q)}, value=v))
        yield first_reply

        raised = CounterMetricFamily("textline_case_alerts", "Supervisor alerts raised: a P1 "
                                     "unclaimed past its limit, a claim gone stale "
                                     "(app/cases/alerts.py).", labels=["reason"])
        still = GaugeMetricFamily("textline_case_alerts_open", "Supervisor alerts whose wait "
                                  "has not ended.", labels=["reason"])
        by_reason = {reason: (n, left) for reason, n, left in alerts}
        for reason in ("unclaimed", "stale"):
            n, left = by_reason.get(reason, (0, 0))
            raised.add_metric([reason], n)
            still.add_metric([reason], left)
        yield raised
        yield still

        yield _gauge("textline_last_text_received_timestamp_seconds", "When the newest text "
                     "stored on a case arrived (Unix time); 0 before the first.",
                     last_text.timestamp() if last_text is not None else 0)


def process_registry() -> Any:
    """What this server counted: every worker's, summed, under serve's multiprocess mode; this
    process's own otherwise."""
    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY  # with the default process, platform and gc collectors
    from prometheus_client import PlatformCollector, ProcessCollector, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


def render(database: CollectorRegistry) -> bytes:
    return generate_latest(process_registry()) + generate_latest(database)


def _scrape_allowed(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    token = rt.settings.metrics_token
    if token is not None and not _scrape_allowed(request, token.get_secret_value()):
        return Response("send the metrics token: Authorization: Bearer <token>\n",
                        status_code=401, media_type="text/plain",
                        headers={"WWW-Authenticate": "Bearer"})
    body = await run_in_threadpool(render, request.app.state.database_figures)
    return Response(body, media_type=CONTENT_TYPE)


def install_metrics(app: Any) -> None:
    """The webhook timer and GET /metrics (for the internal network: see docs/monitoring.md)."""
    # The database's figures belong to this app (its runtime, its database): a registry of its
    # own, not the process's, where a second app in one process would clash with the first.
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseFigures(app.state.runtime))
    app.state.database_figures = database
    app.add_middleware(WebhookTimer)
    app.include_router(router)
