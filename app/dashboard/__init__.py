"""The operator dashboard: login, the live queue, the case page, the simulator."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from app.auth import limits, web
from app.dashboard import case_view, incident_view, pages, phone_reveal, simulator
from app.dashboard.not_found import install_not_found
from app.dashboard.render import STATIC, Pages
from app.live import sse
from app.live.presence import Presence
from app.live.stream_limit import StreamLimit


def install_dashboard(app: FastAPI) -> None:
    """Routes, static files, the cookie-session hook for the JSON API, and the page errors."""
    app.state.pages = Pages(app.state.runtime.settings.tz)
    presence = Presence()
    # What other instances announce arrives on the bus (by the relay, on PostgreSQL).
    app.state.runtime.events.add_listener(presence.on_event)
    app.state.presence = presence
    app.state.stream_limit = StreamLimit(app.state.runtime.settings.max_streams_per_user)
    app.state.hash_slots = limits.HashSlots()
    app.state.session_principal = web.session_principal
    for module in (web, pages, case_view, incident_view, phone_reveal, simulator, sse):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_not_found(app)

    @app.exception_handler(web.LoginRequired)
    async def _login(_request: Request, exc: web.LoginRequired) -> Response:
        return web.login_redirect(exc.next_path)

    @app.exception_handler(web.PasswordChangeRequired)
    async def _password(_request: Request, _exc: web.PasswordChangeRequired) -> Response:
        return web.RedirectResponse("/password", status_code=303)

    @app.exception_handler(web.PageForbidden)
    async def _forbidden(request: Request, exc: web.PageForbidden) -> Response:
        return request.app.state.pages.render("error.html", 403, user=None,
                                              title="Not allowed", message=exc.message)
