"""The `textline` command. Errors are one line on stderr: exit 1 failure, 2 usage."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from app.kit.config import ConfigError, Settings, load_settings
from app.kit.errors import AppError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A failure to report in one line."""


def _settings() -> Settings:
    return load_settings()


def cli_actor() -> str:
    """Who the audit log names for a command: the person at the terminal, by their OS login,
    since the command needs no sign-in of its own."""
    try:
        who = getpass.getuser()
    except Exception:  # no login name in the environment nor the password database
        import os

        who = f"uid{os.getuid()}"
    return f"cli:{who}"[:80]


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.bootstrap import build_intake
    from app.demo import create_demo_users
    from app.kit import migrate
    from app.kit.logs import configure_logging

    settings = _settings()
    if args.workers < 1:
        raise CliError("--workers must be at least 1")
    if args.workers > 1 and settings.database_url.startswith("sqlite"):
        # Live events and presence cross processes only through PostgreSQL's LISTEN/NOTIFY: on
        # SQLite a dashboard would miss every text that another worker read.
        raise CliError("--workers above 1 needs PostgreSQL; on SQLite serve one process "
                       "(docs/scaling.md)")
    configure_logging(settings.log_level, settings.log_format)
    build_intake(settings)  # a bad station, wording or routing file stops here, in one line
    migrate.upgrade(settings.database_url)
    if args.demo:
        for username, password in create_demo_users(settings):
            print(f"demo user {username!r} one-time password: {password}", flush=True)
    if args.no_worker:
        import os

        os.environ["TEXTLINE_RUN_WORKER"] = "false"
    from app.kit.http_timeouts import HTTP_PROTOCOL, KEEP_ALIVE_SECONDS

    uvicorn.run("app.main:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_config=None,
                # X-Forwarded-For is read by the app, and only from TEXTLINE_TRUSTED_PROXIES
                # (app/kit/client_address.py); uvicorn's own reading believes any loopback peer.
                proxy_headers=False,
                server_header=False, access_log=False,
                # A client that stops sending mid-request is let go (app/kit/http_timeouts.py).
                http=HTTP_PROTOCOL, timeout_keep_alive=KEEP_ALIVE_SECONDS,
                # Open dashboards hold event streams; don't let them block a restart.
                timeout_graceful_shutdown=5)
    return EXIT_OK


def cmd_db(args: argparse.Namespace) -> int:
    from app.kit import migrate
    from app.kit.db import make_engine

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
    """Asked twice at a terminal; otherwise one line of standard input (a script, a pipe)."""
    stdin = sys.stdin
    if from_stdin or stdin is None or not stdin.isatty():
        line = stdin.readline() if stdin is not None else ""
        password = line.rstrip("\r\n")
        if not password:
            raise CliError("no password given: pipe it as one line on standard input "
                           "(--password-stdin), or run the command at a terminal to be asked")
        return password
    try:
        first = getpass.getpass("Password: ")
        again = getpass.getpass("Again: ")
    except EOFError:
        raise CliError("no password given") from None
    if first != again:
        raise CliError("the passwords do not match")
    return first


def cmd_user_add(args: argparse.Namespace) -> int:
    from app.auth.service import create_user
    from app.kit.db import make_engine, make_sessionmaker, unit_of_work

    settings = _settings()
    password = _read_password(args.password_stdin)
    with unit_of_work(make_sessionmaker(make_engine(settings.database_url))) as session:
        create_user(session, args.name, args.role, password, actor=cli_actor())
    print(f"user {args.name!r} created with role {args.role}")
    return EXIT_OK


def cmd_token_create(args: argparse.Namespace) -> int:
    from app.auth.service import create_token
    from app.kit.db import make_engine, make_sessionmaker, unit_of_work

    settings = _settings()
    days = settings.token_days if args.expires_days is None else args.expires_days
    if days < 1:
        raise CliError("--expires-days must be at least 1: every token expires "
                       f"(without the option, in {settings.token_days} days: TEXTLINE_TOKEN_DAYS)")
    with unit_of_work(make_sessionmaker(make_engine(settings.database_url))) as session:
        token = create_token(session, args.name, args.label or "cli", actor=cli_actor(),
                             expires_days=days)
    print(token)
    return EXIT_OK


def _write_session(settings: Settings) -> Any:
    from app.kit.db import make_engine, make_sessionmaker, unit_of_work

    return unit_of_work(make_sessionmaker(make_engine(settings.database_url)))


def _read_session(settings: Settings) -> Any:
    from app.kit.db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(settings.database_url, read_only=True))()


def _when(value: datetime | None, settings: Settings, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    # Shown in the control room's time zone, as the dashboard and the exports show times.
    return value.astimezone(settings.tz).strftime(fmt) if value is not None else "-"


def _print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def cmd_user_list(_args: argparse.Namespace) -> int:
    from app.auth.accounts import list_users
    from app.kit.db import utcnow

    settings = _settings()
    with _read_session(settings) as session:
        users = list_users(session, utcnow())
    _print_table(("USERNAME", "ROLE", "STATUS", "CREATED", "LOCKED UNTIL"),
                 [(u.username, u.role, "active" if u.active else "disabled",
                   _when(u.created_at, settings, "%Y-%m-%d"), _when(u.locked_until, settings))
                  for u in users])
    return EXIT_OK


def cmd_user_set_role(args: argparse.Namespace) -> int:
    from app.auth.accounts import set_role
    from app.kit.db import utcnow

    with _write_session(_settings()) as session:
        old = set_role(session, args.name, args.role, actor=cli_actor(), now=utcnow())
    print(f"user {args.name!r}: role {old} -> {args.role}, from their next request")
    return EXIT_OK


def cmd_user_disable(args: argparse.Namespace) -> int:
    from app.auth.accounts import disable_user
    from app.kit.db import utcnow

    with _write_session(_settings()) as session:
        sessions, tokens = disable_user(session, args.name, actor=cli_actor(), now=utcnow())
    print(f"user {args.name!r} disabled; revoked {sessions} dashboard session(s) "
          f"and {tokens} API token(s)")
    return EXIT_OK


def cmd_user_enable(args: argparse.Namespace) -> int:
    from app.auth.accounts import enable_user
    from app.kit.db import utcnow

    with _write_session(_settings()) as session:
        enable_user(session, args.name, actor=cli_actor(), now=utcnow())
    print(f"user {args.name!r} enabled; tokens revoked when disabled stay revoked")
    return EXIT_OK


def cmd_user_unlock(args: argparse.Namespace) -> int:
    from app.auth.accounts import unlock_user
    from app.kit.db import utcnow

    with _write_session(_settings()) as session:
        unlock_user(session, args.name, actor=cli_actor(), now=utcnow())
    print(f"user {args.name!r} unlocked")
    return EXIT_OK


def cmd_user_reset_password(args: argparse.Namespace) -> int:
    from app.auth.accounts import reset_password
    from app.kit.db import utcnow

    settings = _settings()
    password = _read_password(args.password_stdin)
    with _write_session(settings) as session:
        revoked = reset_password(session, args.name, password, actor=cli_actor(), now=utcnow())
    print(f"password of {args.name!r} reset; they must change it at their next sign-in; "
          f"revoked {revoked} dashboard session(s)")
    return EXIT_OK


def cmd_token_list(args: argparse.Namespace) -> int:
    from app.auth.accounts import list_tokens

    settings = _settings()
    with _read_session(settings) as session:
        tokens = list_tokens(session, args.name)
    # LAST USED is refreshed at most hourly (app/auth/service.py, TOKEN_TOUCH_EVERY).
    _print_table(("ID", "USER", "NAME", "CREATED", "EXPIRES", "LAST USED", "REVOKED"),
                 [(str(t.id), t.username, t.name, _when(t.created_at, settings),
                   _when(t.expires_at, settings) if t.expires_at else "never",
                   _when(t.last_used_at, settings), _when(t.revoked_at, settings))
                  for t in tokens])
    return EXIT_OK


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from app.auth.accounts import revoke_token
    from app.kit.db import utcnow

    with _write_session(_settings()) as session:
        token = revoke_token(session, args.id, actor=cli_actor(), now=utcnow())
    print(f"token {token.id} ({token.name!r} of user {token.username!r}) revoked")
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from app.simulate import run_simulator

    settings = _settings()
    url = args.url or settings.public_url + "/webhooks/twilio/sms"
    return run_simulator(settings, url, args.from_number, sys.stdin, sys.stdout)


def cmd_worker(_args: argparse.Namespace) -> int:
    from app.bootstrap import build_runtime, run_worker
    from app.kit.logs import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    return run_worker(build_runtime(settings))


def cmd_audit_verify(_args: argparse.Namespace) -> int:
    from app.audit.service import verify
    from app.kit.db import make_engine, make_sessionmaker

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
    u.add_parser("list", help="every user: role, status, lockout").set_defaults(func=cmd_user_list)
    ur = u.add_parser("set-role", help="change a user's role (holds from their next request)")
    ur.add_argument("name")
    ur.add_argument("role", choices=["operator", "supervisor", "admin"])
    ur.set_defaults(func=cmd_user_set_role)
    for action, func, what in (
            ("disable", cmd_user_disable, "disable a user, revoking their sessions and tokens"),
            ("enable", cmd_user_enable, "enable a disabled user (their old tokens stay revoked)"),
            ("unlock", cmd_user_unlock, "clear a lockout after failed sign-ins")):
        ux = u.add_parser(action, help=what)
        ux.add_argument("name")
        ux.set_defaults(func=func)
    up = u.add_parser("reset-password",
                      help="set a one-time password, signing out the user's sessions")
    up.add_argument("name")
    up.add_argument("--password-stdin", action="store_true")
    up.set_defaults(func=cmd_user_reset_password)

    t = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_cmd", required=True)
    tc = t.add_parser("create", help="print a new bearer token for user NAME, once")
    tc.add_argument("name", help="the user the token acts as")
    tc.add_argument("--expires-days", type=int,
                    help="days until it expires (default TEXTLINE_TOKEN_DAYS, 90); at least 1")
    tc.add_argument("--label", help="what the token is for")
    tc.set_defaults(func=cmd_token_create)
    tl = t.add_parser("list", help="tokens (never their values), of user NAME or everyone")
    tl.add_argument("name", nargs="?")
    tl.set_defaults(func=cmd_token_list)
    tr = t.add_parser("revoke", help="revoke token ID (see `token list`) for good")
    tr.add_argument("id", type=int)
    tr.set_defaults(func=cmd_token_revoke)

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
