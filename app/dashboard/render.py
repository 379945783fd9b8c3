"""Server-side HTML: one Jinja2 environment with autoescaping on, and the filters the pages use.

Every texter-supplied string reaches the page through autoescaping; nothing is marked safe.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.conversation.language import NAMES
from app.kit.db import utcnow

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def human_span(seconds: float) -> str:
    """'45 s', '7 min', '2 h 05', '3 d': short enough for a table cell."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {(s % 3600) // 60:02d}"
    return f"{s // 86400} d"


def _static_versions() -> dict[str, str]:
    """A content hash per static file, so a changed script is never served from a stale cache."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10]
            for p in STATIC.iterdir() if p.is_file()}


class Pages:
    def __init__(self, tz: Any) -> None:
        self.tz = tz
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        versions = _static_versions()
        self.env.globals["static"] = lambda name: f"/static/{name}?v={versions.get(name, '0')}"
        self.env.filters["local"] = self.local
        self.env.globals["language_name"] = lambda code: NAMES.get(code or "", code or "")
        self.env.filters["localday"] = self.local_day
        self.env.filters["since"] = lambda when: human_span((utcnow() - when).total_seconds())
        self.env.filters["iso"] = lambda when: when.isoformat() if when else ""

    def local(self, when: datetime | None) -> str:
        return when.astimezone(self.tz).strftime("%H:%M:%S") if when else ""

    def local_day(self, when: datetime | None) -> str:
        return when.astimezone(self.tz).strftime("%d %b %Y %H:%M") if when else ""

    def render(self, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status_code,
                            headers={"Cache-Control": "no-store"})


def pages(request: Request) -> Pages:
    return request.app.state.pages  # type: ignore[no-any-return]
