"""/supervisor: the figures, their charts and the export form (role supervisor)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, FileSystemLoader

from app.audit.exports import NEEDS_REASON, build_request, record_export
from app.auth.web import PageUser, check_csrf, page_user
from app.dashboard.render import Pages
from app.incidents.queries import incident_figures
from app.kit.db import utcnow
from app.kit.errors import AppError
from app.supervisor.audit_router import begin_export, export_response
from app.supervisor.figures import MAX_DAYS, Figures, collect, day_bounds, reply_span
from app.supervisor.svg import Series, bar_chart, line_chart

HERE = Path(__file__).resolve().parent
DEFAULT_DAYS = 14
router = APIRouter(include_in_schema=False)
Supervisor = Depends(page_user("supervisor"))


def _pages(request: Request) -> Pages:
    """The dashboard's templates and filters, with this folder's templates in front."""
    pages = getattr(request.app.state, "supervisor_pages", None)
    if pages is None:
        pages = Pages(request.app.state.runtime.settings.tz)
        pages.env.loader = ChoiceLoader([FileSystemLoader(HERE / "templates"),
                                         pages.env.loader])  # type: ignore[list-item]
        pages.env.filters["span"] = lambda s: "–" if s is None else reply_span(s)
        request.app.state.supervisor_pages = pages
    return pages  # type: ignore[no-any-return]


_EARLIEST, _LATEST = date(1970, 1, 1), date(2199, 12, 31)


def _range(start: str | None, end: str | None, today: date) -> tuple[date, date, str | None]:
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=DEFAULT_DAYS - 1)
        if not (_EARLIEST <= first <= _LATEST and _EARLIEST <= last <= _LATEST):
            raise ValueError("out of range")
    except (ValueError, OverflowError):
        return (today - timedelta(days=DEFAULT_DAYS - 1), today,
                "Dates are written YYYY-MM-DD, between 1970 and 2199.")
    if first > last:
        first, last = last, first
    if (last - first).days >= MAX_DAYS:
        return last - timedelta(days=MAX_DAYS - 1), last, f"At most {MAX_DAYS} days at once."
    return first, last, None


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def charts(figs: Figures) -> dict[str, Any]:
    labels = [d.strftime("%d %b") for d in figs.days]
    rows = figs.by_day
    return {
        "volume": bar_chart(
            "Texts received and cases opened per day", labels,
            [Series("texts", [r.texts for r in rows], "#0b4f9c"),
             Series("cases", [r.cases for r in rows], "#6b7f99"),
             Series("999 flags", [r.flags_999 for r in rows], "#b3001b")]),
        "replies": line_chart(
            "Minutes from the first text to a reply, per day", labels,
            [Series("human, median", [_minutes(r.human.p50) for r in rows], "#0b4f9c"),
             Series("human, 90th percentile", [_minutes(r.human.p90) for r in rows], "#b3001b"),
             Series("bot, median", [_minutes(r.bot.p50) for r in rows], "#2e7d32")],
            unit="minutes"),
    }


@dataclass(frozen=True)
class ExportChoices:
    """What the export form was sent with, shown again when it is refused."""

    kind: str = "cases"
    fmt: str = "csv"
    start: str = ""
    end: str = ""
    include_pii: bool = False
    reason: str = ""


PII_NEEDS_REASON = ("Unmasked phone numbers need a reason: write why in the Reason box; "
                    "it is kept in the audit log.")


def _sentence(message: str) -> str:
    """An API-style message ("the range is empty: ...") as a sentence on the page."""
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _render(request: Request, user: PageUser, start: str | None, end: str | None,
            status: int = 200, export_error: str | None = None,
            export: ExportChoices | None = None) -> Response:
    settings = request.app.state.runtime.settings
    now = utcnow()
    first, last, error = _range(start, end, now.astimezone(settings.tz).date())
    with request.app.state.read_sessions() as session:
        figs = collect(session, first, last, settings.tz, now)
        incidents = incident_figures(session, *day_bounds(first, last, settings.tz))
    export = export or ExportChoices(start=first.isoformat(), end=last.isoformat())
    return _pages(request).render(
        "supervisor.html", status, user=user, figs=figs, incidents=incidents,
        charts=charts(figs), error=error,
        export_error=export_error, export=export, reason_missing=export_error == PII_NEEDS_REASON,
        first=first.isoformat(), last=last.isoformat(), retention_days=settings.retention_days)


@router.get("/supervisor")
def supervisor_page(request: Request,
                    start: str | None = Query(None, alias="from", max_length=10),
                    end: str | None = Query(None, alias="to", max_length=10),
                    user: PageUser = Supervisor) -> Response:
    return _render(request, user, start, end)


@router.get("/supervisor/export")
def supervisor_export_link(start: str = Query("", alias="from"), end: str = Query("", alias="to"),
                           _user: PageUser = Supervisor) -> Response:
    """An old bookmark or a link from elsewhere: back to the form, which exports only on a POST
    with the page's CSRF token; nothing is exported or recorded here."""
    query = urlencode({k: v for k, v in (("from", start), ("to", end)) if 0 < len(v) <= 10})
    return RedirectResponse(f"/supervisor{'?' + query if query else ''}#export", status_code=303)


@router.post("/supervisor/export")
def supervisor_export(
    request: Request,
    kind: str = Form("cases"),
    fmt: str = Form("csv"),
    start: str = Form("", alias="from"),
    end: str = Form("", alias="to"),
    include_pii: str = Form(""),
    reason: str = Form(""),
    csrf_token: str = Form(""),
    user: PageUser = Supervisor,
) -> Response:
    """The export form: audited as via "dashboard", and answered with the file itself. Every
    field is checked by build_request, so a refusal re-renders the page with the form as sent."""
    check_csrf(request, user, csrf_token)
    choices = ExportChoices(kind, fmt, start, end, include_pii == "true", reason.strip())
    try:
        req = build_request(kind, fmt, start, end, request.app.state.runtime.settings.tz,
                            include_pii=choices.include_pii, reason=choices.reason)
        body = begin_export(request, req)  # the first batch, read before the record
    except AppError as exc:
        message = PII_NEEDS_REASON if exc.message == NEEDS_REASON else _sentence(exc.message)
        # The figures keep their default range: an export may span more days than they show.
        return _render(request, user, None, None, exc.status_code, export_error=message,
                       export=choices)
    with request.app.state.runtime.work() as session:
        record_export(session, user.principal.username, req, via="dashboard")
    return export_response(req, body)


@router.get("/supervisor/supervisor.css")
def supervisor_css(_user: PageUser = Supervisor) -> Response:
    return FileResponse(HERE / "supervisor.css", media_type="text/css",
                        headers={"Cache-Control": "no-cache"})
