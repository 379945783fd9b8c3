"""The dashboard's own "not found" page for a person in a browser: an unknown address, or a
case address that is no case id (/cases/abc). API callers keep JSON {"detail": ...}.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from app.auth.web import LoginRequired, PageForbidden, PageUser, PasswordChangeRequired, page_user

# Machine paths: whatever their Accept header, they answer as the API does.
MACHINE_PREFIXES = ("/api/", "/webhooks/", "/events", "/static/", "/metrics", "/healthz",
                    "/readyz", "/openapi.json", "/docs")


def wants_page(request: Request) -> bool:
    """A browser asking for a page (Accept: text/html), not a client of the API."""
    path = request.url.path
    if path == "/api" or path.startswith(MACHINE_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def in_path(exc: RequestValidationError) -> bool:
    """The address itself is wrong (a case id that is not a number, or out of range)."""
    return any(err.get("loc", ("",))[0] == "path" for err in exc.errors())


def _signed_in(request: Request) -> PageUser | None:
    try:
        return page_user("operator")(request)
    except (LoginRequired, PasswordChangeRequired, PageForbidden):
        return None


async def not_found_page(request: Request) -> Response:
    user = await run_in_threadpool(_signed_in, request)  # the header's menu for a signed-in user
    return request.app.state.pages.render(
        "error.html", 404, user=user, title="Page not found",
        message="There is no page at this address. It may have been mistyped, or the link "
                "may be out of date.")


def install_not_found(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404 and wants_page(request):
            return await not_found_page(request)
        return await http_exception_handler(request, exc)
