"""The `textline` command. Errors are one line on stderr: exit 1 failure, 2 usage.

Here: serve, worker and db, which concern the whole app. Each domain's commands live in its own
cli.py (app/auth, app/sms, app/audit), gathered by build_parser; they import app/kit/cli.py for
what they share, never this module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from app.audit.cli import add_commands as add_audit_commands
from app.auth.cli import add_token_commands, add_user_commands
from app.kit.cli import EXIT_FAIL, EXIT_OK, CliError, settings
from app.kit.config import ConfigError
from app.kit.errors import AppError
from app.sms.cli import add_commands as add_sms_commands


def cmd_serve(args: argparse.Namespace) -> int:
    from app.auth.demo import create_demo_users
    from app.kit import migrate
    from app.kit.logs import configure_logging
    from app.startup.banner import command_name, serve_banner
    from app.startup.bootstrap import build_intake

    conf = settings()
    if args.workers < 1:
        raise CliError("--workers must be at least 1")
    if args.workers > 1 and conf.database_url.startswith("sqlite"):
        # Live events and presence cross processes only through PostgreSQL's LISTEN/NOTIFY: on
        # SQLite a dashboard would miss every text that another worker read.
        raise CliError("--workers above 1 needs PostgreSQL; on SQLite serve one process "
                       "(docs/scaling.md)")
    configure_logging(conf.log_level, conf.log_format)
    build_intake(conf)  # a bad station, wording or routing file stops here, in one line
    migrate.upgrade(conf.database_url)
    demo = create_demo_users(conf) if args.demo else None
    print(serve_banner(conf, args.host, args.port, args.workers, demo, command_name()),
          flush=True)
    if args.no_worker:
        import os

        os.environ["TEXTLINE_RUN_WORKER"] = "false"
    from app.kit.http_timeouts import HTTP_PROTOCOL, KEEP_ALIVE_SECONDS
    from app.kit.metrics_dir import multiprocess_metrics

    # Several workers count into shared files that /metrics sums (docs/monitoring.md).
    with multiprocess_metrics(args.workers):
        _serve(args, HTTP_PROTOCOL, KEEP_ALIVE_SECONDS)
    return EXIT_OK


def _serve(args: argparse.Namespace, http: str, keep_alive: int) -> None:
    import uvicorn

    # Through serve's own factory, which sets up the logs first: with --workers above 1 each
    # worker is a fresh interpreter that inherits nothing configured here.
    uvicorn.run("app.cli:create_served_app", factory=True, host=args.host,
                port=args.port, workers=args.workers, log_config=None,
                # X-Forwarded-For is read by the app, and only from TEXTLINE_TRUSTED_PROXIES
                # (app/kit/client_address.py); uvicorn's own reading believes any loopback peer.
                proxy_headers=False,
                server_header=False, access_log=False,
                # A client that stops sending mid-request is let go (app/kit/http_timeouts.py).
                http=http, timeout_keep_alive=keep_alive,
                # Open dashboards hold event streams; don't let them block a restart.
                timeout_graceful_shutdown=5)


def create_served_app() -> Any:
    """The app as `serve` runs it, in each serving process: uvicorn starts each of several
    workers as a new interpreter, which inherits no logging set-up from this one."""
    from app.kit.config import load_settings
    from app.kit.logs import configure_logging
    from app.main import create_app

    conf = load_settings()
    configure_logging(conf.log_level, conf.log_format)
    return create_app(conf)


def cmd_db(args: argparse.Namespace) -> int:
    from app.kit import migrate
    from app.kit.db import make_engine

    conf = settings()
    if args.action == "upgrade":
        migrate.upgrade(conf.database_url, args.revision or "head")
        print(f"database at {migrate.current_revision(make_engine(conf.database_url))}")
    elif args.action == "downgrade":
        if not args.revision:
            raise CliError("db downgrade needs a revision (e.g. base or 0001)")
        migrate.downgrade(conf.database_url, args.revision)
        print(f"database at {migrate.current_revision(make_engine(conf.database_url))}")
    else:
        current = migrate.current_revision(make_engine(conf.database_url))
        head = migrate.head_revision()
        print(f"{current or 'empty'} (newest: {head})")
    return EXIT_OK


def cmd_worker(_args: argparse.Namespace) -> int:
    from app.kit.logs import configure_logging
    from app.startup.bootstrap import build_runtime, run_worker

    conf = settings()
    configure_logging(conf.log_level, conf.log_format)
    return run_worker(build_runtime(conf))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="textline", description="Text-line intake service.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="upgrade the database, then serve")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--demo", action="store_true", help="create demo users with one-time passwords")
    s.add_argument("--no-worker", action="store_true",
                   help="do not read the inbox or drain the outbox in-process")
    s.set_defaults(func=cmd_serve)

    d = sub.add_parser("db", help="database migrations")
    d.add_argument("action", choices=["upgrade", "current", "downgrade"])
    d.add_argument("revision", nargs="?")
    d.set_defaults(func=cmd_db)

    add_user_commands(sub)
    add_token_commands(sub)
    add_sms_commands(sub)

    w = sub.add_parser("worker", help="read the inbox and drain the outbox in this process")
    w.set_defaults(func=cmd_worker)

    add_audit_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on a usage error
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (ConfigError, CliError, AppError) as exc:
        print(f"textline: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return EXIT_FAIL
    except Exception as exc:  # one line, never a traceback, for an operator at a terminal
        print(f"textline: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
