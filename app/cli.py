"""The `textline` command. Errors are one line on stderr: exit 1 failure, 2 usage."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence

from app.config import ConfigError, Settings, load_settings
from app.errors import AppError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A failure to report in one line."""


def _settings() -> Settings:
    return load_settings()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app import migrate
    from app.bootstrap import build_intake
    from app.demo import create_demo_users
    from app.logs import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    build_intake(settings)  # a bad station, wording or routing file stops here, in one line
    migrate.upgrade(settings.database_url)
    if args.demo:
        for username, password in create_demo_users(settings):
            print(f"demo user {username!r} one-time password: {password}", flush=True)
    if args.no_worker:
        import os

        os.environ["TEXTLINE_RUN_WORKER"] = "false"
    uvicorn.run("app.main:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_config=None, proxy_headers=True,
                server_header=False, access_log=False,
                # Open dashboards hold event streams; don't let them block a restart.
                timeout_graceful_shutdown=5)
    return EXIT_OK


def cmd_db(args: argparse.Namespace) -> int:
    from app import migrate
    from app.db import make_engine

    settings = _settings()
    if args.action == "upgrade":
        migrate.upgrade(settings.database_url, args.revision or "head")
        print(f"database at {migrate.current_revision(make_engine(settings.database_url))}")
    elif args.action == "downgrade":
        if not args.revision:
            raise CliError("db downgrade needs a revision (e.g. base or 0001)")
        migrate.downgrade(settings.database_url, args.revision)
        print(f"database at {migrate.current_revision(make_engine(settings.database_url))}")
    else:
        current = migrate.current_revision(make_engine(settings.database_url))
        head = migrate.head_revision()
        print(f"{current or 'empty'} (newest: {head})")
    return EXIT_OK


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise CliError("the passwords do not match")
    return first


def cmd_user_add(args: argparse.Namespace) -> int:
    from app.auth.service import create_user
    from app.db import make_engine, make_sessionmaker, unit_of_work

    settings = _settings()
    password = _read_password(args.password_stdin)
    with unit_of_work(make_sessionmaker(make_engine(settings.database_url))) as session:
        create_user(session, args.name, args.role, password, actor="cli")
    print(f"user {args.name!r} created with role {args.role}")
    return EXIT_OK


def cmd_token_create(args: argparse.Namespace) -> int:
    from app.auth.service import create_token
    from app.db import make_engine, make_sessionmaker, unit_of_work

    settings = _settings()
    with unit_of_work(make_sessionmaker(make_engine(settings.database_url))) as session:
        token = create_token(session, args.name, args.label or "cli", actor="cli",
                             expires_days=args.expires_days)
    print(token)
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from app.simulate import run_simulator

    settings = _settings()
    url = args.url or settings.public_url + "/webhooks/twilio/sms"
    return run_simulator(settings, url, args.from_number, sys.stdin, sys.stdout)


def cmd_worker(_args: argparse.Namespace) -> int:
    from app.bootstrap import build_runtime
    from app.logs import configure_logging
    from app.sms.worker import run_worker

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    return run_worker(build_runtime(settings))


def cmd_audit_verify(_args: argparse.Namespace) -> int:
    from app.audit.service import verify
    from app.db import make_engine, make_sessionmaker

    settings = _settings()
    with make_sessionmaker(make_engine(settings.database_url))() as session:
        result = verify(session)
    if result.ok:
        print(f"audit chain intact: {result.events} events")
        return EXIT_OK
    print(f"audit chain broken at event {result.first_bad}: {result.problem}", file=sys.stderr)
    return EXIT_FAIL


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

    u = sub.add_parser("user", help="users").add_subparsers(dest="user_cmd", required=True)
    ua = u.add_parser("add", help="create a user")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=["operator", "supervisor", "admin"])
    ua.add_argument("--password-stdin", action="store_true")
    ua.set_defaults(func=cmd_user_add)

    t = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_cmd", required=True)
    tc = t.add_parser("create", help="print a new bearer token for user NAME, once")
    tc.add_argument("name", help="the user the token acts as")
    tc.add_argument("--expires-days", type=int)
    tc.add_argument("--label", help="what the token is for")
    tc.set_defaults(func=cmd_token_create)

    m = sub.add_parser("simulate", help="text the service as a passenger would")
    m.add_argument("--from", dest="from_number", default="+447700900123")
    m.add_argument("--url")
    m.set_defaults(func=cmd_simulate)

    w = sub.add_parser("worker", help="read the inbox and drain the outbox in this process")
    w.set_defaults(func=cmd_worker)

    a = sub.add_parser("audit", help="audit log").add_subparsers(dest="audit_cmd", required=True)
    av = a.add_parser("verify", help="check the hash chain end to end")
    av.set_defaults(func=cmd_audit_verify)
    from app.audit.cli import add_commands as add_audit_commands  # export, retention run

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
