"""GET /metrics in the Prometheus text format (version 0.0.4), written by hand: it is small.

- textline_webhook_seconds: histogram of the inbound webhook's latency in this process, from
  the request's arrival to the last byte of the answer (a middleware, so every outcome counts);
- textline_inbox_depth and textline_inbox_oldest_seconds: texts acknowledged and not yet read
  by the processor, and how long the oldest has waited (a growing figure: see docs/scaling.md);
- textline_outbox_depth{kind,state} and textline_outbox_oldest_seconds{kind}: what waits to be
  delivered and for how long the oldest has waited, read from the database at each scrape;
- textline_spool_depth, textline_spool_oldest_seconds and textline_spool_kept_aside: texts this
  process answered 200 while the database was away and keeps on local disk (docs/outage.md);
- textline_cases_waiting{priority}: open cases that no person has answered yet;
- textline_case_alerts_total{reason} and textline_case_alerts_open{reason}: supervisor alerts
  raised (an unclaimed P1, a stale claim; app/cases/alerts.py) and those whose wait goes on;
- textline_first_human_reply_seconds: from a case's first text to the first operator reply,
  over the cases answered in the last 24 hours (a summary with quantiles, from the database).

The database figures are the same in every instance; the webhook histogram is per process, as
Prometheus expects of a scrape target (several workers: see docs/scaling.md).

With TEXTLINE_METRICS_TOKEN set, a scrape must send it as `Authorization: Bearer <token>`
(Prometheus: `authorization: {credentials: ...}`); without it, anyone who can reach the port may
read the figures (docs/security.md).
"""

from __future__ import annotations

import bisect
import hmac
import threading
import time
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.cases.processor import inbox_depth
from app.inbox.spool import spool_lines
from app.kit.db import utcnow
from app.kit.runtime import Runtime
from app.models import Case, CaseAlert, Outbox
from app.sms.router import INBOUND_PATH

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUANTILES = (0.5, 0.9, 0.99)
REPLY_WINDOW = timedelta(hours=24)

router = APIRouter(include_in_schema=False)


class Histogram:
    """Cumulative buckets, a sum and a count, safe to observe from any thread."""

    def __init__(self, buckets: tuple[float, ...] = BUCKETS) -> None:
        self.bounds = buckets
        self._counts = [0] * (len(buckets) + 1)
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        i = bisect.bisect_left(self.bounds, seconds)
        with self._lock:
            self._counts[i] += 1
            self._sum += seconds

    def lines(self, name: str, labels: str = "") -> list[str]:
        with self._lock:
            counts, total = list(self._counts), self._sum
        out, running = [], 0
        sep = "," if labels else ""
        for bound, n in zip(self.bounds, counts, strict=False):
            running += n
            out.append(f'{name}_bucket{{{labels}{sep}le="{_num(bound)}"}} {running}')
        running += counts[-1]
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {running}')
        braces = f"{{{labels}}}" if labels else ""
        out.append(f"{name}_sum{braces} {_num(total)}")
        out.append(f"{name}_count{braces} {running}")
        return out


class WebhookTimer:
    """ASGI middleware timing POST /webhooks/twilio/sms into a histogram by status class.

    It tells the webhook from other requests by the route the router matched (scope["route"],
    set by the time the answer starts), not by a path of its own: the histogram is the
    webhook's latency, what Twilio waits for, and must not mix in any other route's.
    """

    def __init__(self, app: ASGIApp, histograms: dict[str, Histogram]) -> None:
        self.app = app
        self.histograms = histograms

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
                self._observe(status, time.perf_counter() - began)

    def _observe(self, status: int, seconds: float) -> None:
        cls = f"{status // 100}xx"
        hist = self.histograms.get(cls)
        if hist is None:
            hist = self.histograms.setdefault(cls, Histogram())
        hist.observe(seconds)


def _num(value: float) -> str:
    return repr(float(value))


def _quantiles(values: list[float]) -> dict[float, float]:
    if not values:
        return {}
    values = sorted(values)
    return {q: values[min(len(values) - 1, int(q * len(values)))] for q in QUANTILES}


def database_lines(rt: Runtime) -> list[str]:
    now = utcnow()
    out: list[str] = []
    with rt.sessions() as session:
        depth = session.execute(
            select(Outbox.kind, Outbox.state, func.count(), func.min(Outbox.created_at))
            .where(Outbox.state.in_(("pending", "sending")))
            .group_by(Outbox.kind, Outbox.state)
        ).all()
        waiting = session.execute(
            select(Case.priority, func.count())
            .where(Case.status == "open", Case.first_response_at.is_(None),
                   Case.assigned_to_id.is_(None))
            .group_by(Case.priority)
        ).all()
        replies = session.execute(
            select(Case.created_at, Case.first_response_at)
            .where(Case.first_response_at >= now - REPLY_WINDOW)
        ).all()
        alerts = session.execute(
            select(CaseAlert.reason, func.count(), func.count(CaseAlert.id).filter(
                CaseAlert.cleared_at.is_(None)))
            .group_by(CaseAlert.reason)
        ).all()
        unread, unread_age = inbox_depth(session, now)
        session.rollback()

    out += ["# HELP textline_inbox_depth Texts acknowledged to Twilio and not yet read.",
            "# TYPE textline_inbox_depth gauge", f"textline_inbox_depth {unread}",
            "# HELP textline_inbox_oldest_seconds How long the oldest unread text has waited.",
            "# TYPE textline_inbox_oldest_seconds gauge",
            f"textline_inbox_oldest_seconds {unread_age:.3f}"]

    out += ["# HELP textline_outbox_depth Outbox rows waiting to be delivered, by kind and state.",
            "# TYPE textline_outbox_depth gauge"]
    oldest: dict[str, float] = {}
    for kind in ("sms", "integration"):
        for state in ("pending", "sending"):
            n = next((c for k, s, c, _ in depth if k == kind and s == state), 0)
            out.append(f'textline_outbox_depth{{kind="{kind}",state="{state}"}} {n}')
    for kind, _state, _n, first in depth:
        if first is not None:
            age = max(0.0, (now - first).total_seconds())
            oldest[kind] = max(oldest.get(kind, 0.0), age)
    out += ["# HELP textline_outbox_oldest_seconds Age of the oldest undelivered outbox row.",
            "# TYPE textline_outbox_oldest_seconds gauge"]
    for kind in ("sms", "integration"):
        out.append(f'textline_outbox_oldest_seconds{{kind="{kind}"}} {oldest.get(kind, 0.0):.3f}')

    out += ["# HELP textline_cases_waiting Open cases no person has answered or claimed yet.",
            "# TYPE textline_cases_waiting gauge"]
    counts = {p or "none": n for p, n in waiting}
    for priority in ("P1", "P2", "P3", "none"):
        out.append(f'textline_cases_waiting{{priority="{priority}"}} {counts.get(priority, 0)}')

    out += ["# HELP textline_case_alerts_total Supervisor alerts raised: a P1 unclaimed past "
            "TEXTLINE_P1_ALERT_SECONDS, a claim stale past TEXTLINE_STALE_CLAIM_MINUTES.",
            "# TYPE textline_case_alerts_total counter"]
    raised = {reason: (n, still) for reason, n, still in alerts}
    for reason in ("unclaimed", "stale"):
        out.append(f'textline_case_alerts_total{{reason="{reason}"}} '
                   f'{raised.get(reason, (0, 0))[0]}')
    out += ["# HELP textline_case_alerts_open Supervisor alerts whose wait has not ended.",
            "# TYPE textline_case_alerts_open gauge"]
    for reason in ("unclaimed", "stale"):
        out.append(f'textline_case_alerts_open{{reason="{reason}"}} '
                   f'{raised.get(reason, (0, 0))[1]}')

    delays = [max(0.0, (answered - opened).total_seconds()) for opened, answered in replies]
    out += ["# HELP textline_first_human_reply_seconds From a case's opening to its first "
            "operator reply, cases answered in the last 24 hours.",
            "# TYPE textline_first_human_reply_seconds summary"]
    for q, v in _quantiles(delays).items():
        out.append(f'textline_first_human_reply_seconds{{quantile="{q}"}} {v:.3f}')
    out.append(f"textline_first_human_reply_seconds_sum {sum(delays):.3f}")
    out.append(f"textline_first_human_reply_seconds_count {len(delays)}")
    return out


def render(rt: Runtime, histograms: dict[str, Histogram]) -> str:
    lines = ["# HELP textline_webhook_seconds Latency of POST /webhooks/twilio/sms in this "
             "process, by status class.",
             "# TYPE textline_webhook_seconds histogram"]
    for cls in sorted(histograms):
        lines += histograms[cls].lines("textline_webhook_seconds", f'status="{cls}"')
    lines += spool_lines(rt.spool)
    try:
        lines += database_lines(rt)
    except DBAPIError:  # the database is away: the process's own figures still tell it
        lines += ["# the database is unavailable: its figures are missing from this scrape"]
    return "\n".join(lines) + "\n"


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
    histograms: dict[str, Histogram] = request.app.state.webhook_histograms
    body = await run_in_threadpool(render, rt, histograms)
    return Response(body, media_type=CONTENT_TYPE)


def install_metrics(app: Any) -> None:
    """The webhook timer and GET /metrics (for the internal network: see docs/scaling.md)."""
    histograms: dict[str, Histogram] = {"2xx": Histogram()}
    app.state.webhook_histograms = histograms
    app.add_middleware(WebhookTimer, histograms=histograms)
    app.include_router(router)
