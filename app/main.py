"""create_app(): settings, routers, middleware; nothing else."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from app.audit.reads import ReadAudit
from app.auth.secret_key import ensure_secret_key
from app.cases.actions_router import router as case_actions_router
from app.cases.incident_reply_router import router as incident_reply_router
from app.cases.router import router as cases_router
from app.conversation.extract.risk import default_lexicon  # warmed before gc.freeze
from app.dashboard import install_dashboard  # dashboard: pages, login, SSE, session hook
from app.dashboard.not_found import in_path, not_found_page, wants_page
from app.inbox.drainer import start_drainer
from app.inbox.webhook import router as inbound_router
from app.incidents.router import router as incidents_router
from app.kit.api_docs import install_api_docs
from app.kit.config import Settings, load_settings
from app.kit.errors import install_error_handlers
from app.kit.middleware import RequestContext
from app.kit.migrate import head_revision
from app.kit.nul_guard import RefuseNul
from app.kit.request_limits import BodyLimit, form_limits
from app.live.events_pg import start_relay  # LISTEN/NOTIFY between processes
from app.live.presence import start_heartbeat  # presence across instances
from app.ops.health import router as health_router
from app.ops.metrics import install_metrics  # GET /metrics
from app.sms.status_router import router as status_router
from app.startup.bootstrap import build_runtime, start_background
from app.supervisor.accounts import router as accounts_router  # supervisor: sign-in help
from app.supervisor.audit_router import router as audit_router
from app.supervisor.claims import router as claims_router  # supervisor: claims, alerts banner
from app.supervisor.router import router as supervisor_router  # supervisor: figures, exports
from app.supervisor.wallboard import router as wallboard_router  # the wall screen

log = logging.getLogger("textline")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    runtime = build_runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ensure_secret_key(runtime)
        if settings.twilio_auth_token is None:
            log.warning("UNSIGNED WEBHOOKS ACCEPTED: no TEXTLINE_TWILIO_AUTH_TOKEN is set and the "
                        "SMS provider is console. Never expose this server to the internet so.")
        background = start_background(runtime) if settings.run_worker else []
        drainer = start_drainer(runtime)  # texts an earlier run spooled go first
        app.state.background = background
        relay = start_relay(runtime.events, runtime.engine)  # None on SQLite
        app.state.event_relay = relay
        # Presence crosses instances only by the relay; its heartbeat lets a dead one's expire.
        presence_beat = (start_heartbeat(app.state.presence, runtime.events)
                         if relay is not None else None)
        # What start built stays for the process's life; kept out of the collector's
        # full passes, which otherwise walked it (~80 ms) inside whichever request set one off.
        default_lexicon()  # else loaded by the first text
        gc.freeze()
        yield
        gc.unfreeze()
        await runtime.inbox.aclose()  # every text handed over is committed before the rest stops
        if drainer is not None:
            drainer.stop()
            runtime.spool.close()  # what is still spooled stays on disk for the next start
        if presence_beat is not None:
            presence_beat.stop()
        if relay is not None:
            relay.stop()
        for task in reversed(background):
            task.stop()
        if runtime.tracer is not None:
            runtime.tracer.shutdown()  # the last texts' spans, exported before the exit
        runtime.engine.dispose()
        runtime.read_sessions.kw["bind"].dispose()

    # Textline traces texts itself (app/kit/tracing.py), not requests; left on, FastAPI's
    # telemetry looks for an OpenTelemetry provider on every request (5 µs a text).
    app = FastAPI(title="Textline", version="0.1.0", lifespan=lifespan,
                  description="Text-line intake for transport police control rooms.",
                  telemetry={"tracing": False, "metrics": False, "logs": False},
                  docs_url=None, redoc_url=None,  # served from installed files: install_api_docs
                  form_limits=form_limits(settings.max_request_bytes))
    app.state.runtime = runtime
    app.state.sessions = runtime.sessions
    app.state.read_sessions = runtime.read_sessions
    app.state.head_revision = head_revision()
    app.state.read_audit = ReadAudit(runtime.sessions, runtime.read_sessions,
                                     timedelta(minutes=settings.read_audit_minutes))
    app.add_middleware(RefuseNul)  # NUL in an address or form: one 422 on both databases
    # Inside RequestContext, so that a 413 keeps its request id and security headers.
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestContext, hsts=settings.public_url.startswith("https://"))
    install_error_handlers(app)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if in_path(exc) and wants_page(request):  # /cases/abc in a browser: no such page
            return await not_found_page(request)
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return JSONResponse({"detail": "; ".join(parts) or "invalid request"}, status_code=422)

    app.include_router(health_router)
    app.include_router(inbound_router)
    app.include_router(status_router)
    app.include_router(cases_router)
    app.include_router(case_actions_router)
    app.include_router(incidents_router)
    app.include_router(incident_reply_router)
    app.include_router(audit_router)
    install_dashboard(app)  # dashboard: pages, login, SSE, session hook
    app.include_router(supervisor_router)  # supervisor: figures, exports
    app.include_router(accounts_router)
    app.include_router(claims_router)
    app.include_router(wallboard_router)
    install_metrics(app)
    install_api_docs(app)
    return app
