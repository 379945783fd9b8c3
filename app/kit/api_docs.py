"""GET /docs: Swagger UI, from files installed with a Python package, under the dashboard's CSP.

FastAPI's own pages load a floating version of their scripts from a public CDN, without integrity,
and start them with inline script: on the dashboard's origin, that made a third party's code as
trusted as ours. Here Swagger UI's script and style come from the `fastapi-offline` package
(installed like every other dependency, at a known version) and are served by this server; the
page is started by a file of ours (static/api-docs.js), so it keeps the dashboard's
Content-Security-Policy (app/kit/middleware.py) like every other page.

ReDoc cannot run under that policy (its styling engine writes inline styles and stops when they
are refused), so GET /redoc sends the reader to /docs instead. /openapi.json is FastAPI's,
unchanged.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_PATH = "/static-docs"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{assets}/swagger-ui.css?v={v}">
</head>
<body>
<div id="swagger-ui" data-openapi="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js?v={v}"></script>
<script src="/static/api-docs.js?v={v}"></script>
</body>
</html>
"""


def install_api_docs(app: FastAPI) -> None:
    """The page, its assets and /redoc's redirect; the app is built with docs_url and
    redoc_url None, so that FastAPI's CDN pages are never there."""
    html = _PAGE.format(title=f"{app.title} API", assets=ASSETS_PATH,
                        openapi=app.openapi_url or "/openapi.json",
                        v=version("fastapi-offline"))
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="static-docs")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> RedirectResponse:
        return RedirectResponse("/docs", status_code=308)
