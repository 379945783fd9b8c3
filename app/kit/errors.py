"""Errors with an HTTP status: raised by services, turned into {"detail": ...} by one handler."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class AppError(Exception):
    """An expected failure the client can act on."""

    status_code = 400

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class BadRequest(AppError):
    """The request is malformed."""

    status_code = 400


class TooLarge(BadRequest):
    """A body or field past its cap (a 400, as Twilio's webhooks expect, not a 413)."""


class Unauthorized(AppError):
    """No valid credentials."""

    status_code = 401


class Forbidden(AppError):
    """Credentials valid, role not allowed."""

    status_code = 403


class NotFound(AppError):
    """No such resource (or not visible to the caller)."""

    status_code = 404


class Conflict(AppError):
    """The resource's state forbids the action."""

    status_code = 409


class Unprocessable(AppError):
    """Well-formed but invalid content."""

    status_code = 422


def error_response(exc: AppError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return error_response(exc)

    # The database is away (stopped, restarting, unreachable): say so, 503, not a 500. Texts
    # still arriving are spooled meanwhile (docs/outage.md).
    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def _database_away(request: Request, _exc: Exception) -> Response:
        return database_unavailable(request)

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> Response:
        if exc.connection_invalidated:
            return database_unavailable(request)
        raise exc


DATABASE_AWAY = "database unavailable: try again in a moment"


def database_unavailable(request: Request) -> Response:
    """503 with the notice: the dashboard's error page for a browser, else JSON."""
    headers = {"Retry-After": "5"}
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"detail": DATABASE_AWAY}, status_code=503, headers=headers)
    pages = getattr(request.app.state, "pages", None)
    if pages is None:
        return PlainTextResponse(f"Textline: {DATABASE_AWAY}.", 503, headers=headers)
    page = pages.render("error.html", 503, user=None, title="Database unavailable",
                        message="Textline cannot reach its database just now. Texts arriving "
                                "meanwhile are kept safe and will appear here when it is back; "
                                "reload this page in a moment.")
    page.headers.update(headers)
    return page
