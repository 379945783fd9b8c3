"""/metrics for `textline worker`, which has no web server of its own.

Its reading and sending are counted in its own process (processor lag, answer latency, sends,
decisions, audit appends), which serve's scrape cannot see; with TEXTLINE_WORKER_METRICS_ADDRESS
set it serves them on a small threaded server, with TEXTLINE_METRICS_TOKEN required as on
serve. The database's figures are left to serve's scrape, where they already are.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIServer, make_server

from prometheus_client import REGISTRY, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from app.kit import metrics as _instruments  # noqa: F401  (registered on import: what is served)
from app.kit.config import Settings


class _Quiet(ThreadingWSGIServer):
    """No line on stderr per scrape."""


def _guarded(app: Callable[..., Iterable[bytes]], token: str | None) -> Callable[..., Any]:
    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if token is not None:
            scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                     token.encode()):
                start_response("401 Unauthorized", [("Content-Type", "text/plain"),
                                                    ("WWW-Authenticate", "Bearer")])
                return [b"send the metrics token: Authorization: Bearer <token>\n"]
        return app(environ, start_response)

    return guarded


def serve_worker_metrics(settings: Settings) -> WSGIServer | None:
    """Start serving (a daemon thread); None when no address is set. shutdown() stops it."""
    address = settings.worker_metrics_address
    if not address:
        return None
    host, _, port = address.rpartition(":")
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    from wsgiref.simple_server import WSGIRequestHandler

    class _Silent(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = make_server(host.strip("[]") or "0.0.0.0", int(port),
                        _guarded(make_wsgi_app(REGISTRY), token), _Quiet, handler_class=_Silent)
    threading.Thread(target=httpd.serve_forever, name="worker-metrics", daemon=True).start()
    return httpd
