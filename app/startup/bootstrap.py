"""Building the runtime from settings and starting its background parts."""

from __future__ import annotations

import itertools
import logging
import signal
import threading
from typing import Any

from sqlalchemy.engine import Engine

from app.cases.conversation import ConversationIntake
from app.kit.config import ConfigError, Settings
from app.kit.db import make_engine, make_sessionmaker
from app.kit.logs import log_fields
from app.kit.runtime import Runtime
from app.kit.tracing import tracer_for
from app.live.events import EventBus

log = logging.getLogger("textline.outbox")


def build_intake(settings: Settings) -> ConversationIntake:
    """The engine, the station list, the wording, the routing rules and the outcome texts, each
    checked at start."""
    from app.cases.outcomes import OutcomeTextsError, outcome_texts
    from app.conversation.engine import Engine
    from app.conversation.language import DetectorError, load_detector
    from app.conversation.wording import WordingError, load_wording
    from app.dispatch.rules import RulesError, load_rules
    from app.gazetteer.loader import GazetteerError, load_gazetteer

    def _path(p: Any) -> str | None:
        return str(p) if p is not None else None

    try:
        gazetteer = load_gazetteer(_path(settings.stations_file))
        wording = load_wording(_path(settings.wording_file))
        rules = load_rules(_path(settings.routing_file))
        outcome_texts()
        detect = load_detector()
    except (GazetteerError, WordingError, RulesError, OutcomeTextsError, DetectorError,
            OSError) as exc:
        raise ConfigError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    return ConversationIntake(Engine(gazetteer, wording, detect=detect), rules, settings)


def build_runtime(settings: Settings) -> Runtime:
    engine = make_engine(settings.database_url)
    readers = None
    if settings.is_sqlite:
        readers = make_sessionmaker(make_engine(settings.database_url, read_only=True))
    return Runtime(settings=settings, engine=engine, sessions=make_sessionmaker(engine),
                   intake=build_intake(settings), events=EventBus(), read_sessions=readers,
                   inbox=inbox_writer(engine), spool=spool_for(settings, engine),
                   tracer=tracer_for(settings.otel_endpoint))


def spool_for(settings: Settings, engine: Engine) -> Any:
    """The local spool for a remote database; None on SQLite, whose commits are local."""
    if engine.dialect.name != "postgresql":
        return None
    from app.inbox.spool import Spool

    return Spool(settings.spool_dir.resolve(), settings.database_url,
                 after_seconds=settings.spool_after_ms / 1000)


def inbox_writer(engine: Engine) -> Any:
    """The webhook's group-committing writer: a thread on SQLite, whose calls are short and
    local; the event loop itself on PostgreSQL, whose every call is a round trip
    (app/sms/inbox_pg.py)."""
    if engine.dialect.name == "postgresql":
        from app.inbox.writer_pg import PgInboxWriter

        return PgInboxWriter(engine)
    from app.inbox.writer import InboxWriter

    return InboxWriter(engine)


def start_background(rt: Runtime) -> list[Any]:
    """The inbox processor, the outbox worker and the timers (start_timers); each has stop()."""
    from app.inbox.reader import InboxProcessor

    processor = InboxProcessor(rt)
    if rt.inbox is not None:
        rt.inbox.on_commit = processor.notify  # read each text as soon as it is safe
    processor.start()
    senders = start_senders(rt)
    return [processor, *senders, *start_timers(rt)]


def start_timers(rt: Runtime) -> list[Any]:
    """The silence sweeper (every 30 s), the supervisors' alerts, retention (hourly) and the audit
    chain's check: wherever the inbox is read, by `serve` or by `textline worker`, so that
    `serve --no-worker` beside a worker loses none of them.
    Several at once are safe: each case is locked and checked again before it moves."""
    from app.audit.retention import run_retention
    from app.audit.service import check_chain
    from app.cases.alerts import check_alerts
    from app.cases.sweeper import Periodic, sweep_silence
    from app.kit.db import utcnow

    sweeper = Periodic("silence-sweeper", 30.0, lambda: sweep_silence(rt))
    sweeper.start()
    # Declared as the silence sweeper is; polled often enough that a P1 alerts within a few
    # seconds of its limit, not a whole interval late.
    alerts = Periodic("alert-timer", min(10.0, rt.settings.p1_alert_seconds / 4),
                      lambda: check_alerts(rt))
    alerts.start()
    retention = Periodic("retention", 3600.0, lambda: run_retention(
        rt.sessions, now=utcnow(), retention_days=rt.settings.retention_days,
        reopen_hours=rt.settings.reopen_hours))
    retention.start()
    chain = Periodic("audit-check", rt.settings.audit_check_minutes * 60.0,
                     lambda: check_chain(rt.read_sessions), run_at_start=True)
    chain.start()
    return [sweeper, alerts, retention, chain]


def start_senders(rt: Runtime) -> list[Any]:
    """TEXTLINE_OUTBOX_SENDERS sending loops sharing TEXTLINE_OUTBOX_IN_FLIGHT sends, woken by
    rt.wake_outbox() after each commit that queued outbound rows; claims keep them apart
    (app/sms/worker.py)."""
    from app.sms.worker import OutboxWorker

    count = rt.settings.outbox_senders
    share = max(1, -(-rt.settings.outbox_in_flight // count))  # rounded up
    senders = [OutboxWorker(rt, in_flight=share, name=f"outbox-worker-{i}")
               for i in range(count)]
    turn = itertools.count()

    def wake_one() -> None:
        senders[next(turn) % len(senders)].notify()

    # One loop per commit, not all of them (each empty look is a transaction); a loop that
    # filled all its slots wakes the next, so a burst spreads over all of them.
    for sender in senders:
        sender.on_work = wake_one
    rt.outbox_waker = wake_one
    for sender in senders:
        sender.start()
    return senders


def run_worker(rt: Runtime) -> int:
    """`textline worker`: read the inbox, drain the outbox and run the timers until SIGTERM or
    SIGINT, finishing the text in hand."""
    from app.inbox.reader import InboxProcessor
    from app.live.events_pg import start_relay
    from app.ops.worker_metrics import serve_worker_metrics

    done = threading.Event()

    def _on_signal(_signum: int, _frame: object) -> None:
        done.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    processor = InboxProcessor(rt)
    relay = start_relay(rt.events, rt.engine)  # dashboards elsewhere see the texts read here
    figures = serve_worker_metrics(rt.settings)  # None unless an address is set
    processor.start()
    senders = start_senders(rt)  # woken by the texts this process reads
    timers = start_timers(rt)
    log.info("outbox worker started", extra=log_fields(provider=senders[0].provider.name,
                                                       senders=len(senders)))
    try:
        while not done.wait(1.0):
            pass
    finally:
        processor.stop()
        for sender in senders:
            sender.stop()
        for timer in timers:
            timer.stop()
        if relay is not None:
            relay.stop()
        if figures is not None:
            figures.shutdown()
        if rt.tracer is not None:
            rt.tracer.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("outbox worker stopped")
    return 0
