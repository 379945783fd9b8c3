"""Browser tests: a real server on a free port, and Debian's chromium driven by Playwright.

Without chromium or Playwright the browser tests skip, saying why; with CI=true they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, unavailable
from tests.live import free_port, live_server

CHROMIUM = os.environ.get("TEXTLINE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


def require_browser() -> None:
    why = _browser_missing()
    if why is not None:
        unavailable("a browser (chromium and Playwright)", why)


@dataclass
class LiveServer:
    url: str
    app: Any


@pytest.fixture
def live(server: LiveServer) -> LiveServer:
    require_browser()
    return server


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """A migrated SQLite database, the app on uvicorn in a thread, and an outbox worker.

    Parametrised indirectly with a dict, it overrides those settings."""
    from app.kit import migrate
    from app.kit.config import Settings
    from app.main import create_app
    from app.sms.worker import OutboxWorker

    db = f"sqlite:///{tmp_path / 'live.db'}"
    migrate.upgrade(db)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(database_url=db, public_url=url, twilio_auth_token=TEST_AUTH_TOKEN,
                        twilio_account_sid=TEST_ACCOUNT_SID, sms_provider="console",
                        secret_key="browser-test-secret-0123456789",
                        **getattr(request, "param", {}))
    app = create_app(settings)
    worker = OutboxWorker(app.state.runtime, poll=0.2)
    # Open event streams would hold a graceful shutdown forever: give them a second.
    with live_server(app, port, graceful_seconds=1):
        worker.start()
        try:
            yield LiveServer(url, app)
        finally:
            worker.stop(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def contexts(browser: Any, live: LiveServer) -> Iterator[list[Any]]:
    """Browser contexts opened by a test, closed before its server stops (their event streams
    would otherwise be cut by the shutdown)."""
    opened: list[Any] = []
    yield opened
    for context in opened:
        context.close()
