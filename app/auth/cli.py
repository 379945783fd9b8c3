"""`textline user ...` and `textline token ...`: registered by app/cli.py's build_parser."""

from __future__ import annotations

import argparse
from typing import Any

from app.kit.cli import (
    EXIT_OK,
    CliError,
    cli_actor,
    print_table,
    read_password,
    read_session,
    settings,
    when,
    write_session,
)

ROLE_CHOICES = ["operator", "supervisor", "admin"]


def cmd_user_add(args: argparse.Namespace) -> int:
    from app.auth.service import create_user

    password = read_password(args.password_stdin)
    with write_session(settings()) as session:
        create_user(session, args.name, args.role, password, actor=cli_actor())
    print(f"user {args.name!r} created with role {args.role}")
    return EXIT_OK


def cmd_token_create(args: argparse.Namespace) -> int:
    from app.auth.service import create_token

    conf = settings()
    days = conf.token_days if args.expires_days is None else args.expires_days
    if days < 1:
        raise CliError("--expires-days must be at least 1: every token expires "
                       f"(without the option, in {conf.token_days} days: TEXTLINE_TOKEN_DAYS)")
    with write_session(conf) as session:
        token = create_token(session, args.name, args.label or "cli", actor=cli_actor(),
                             expires_days=days)
    print(token)
    return EXIT_OK


def cmd_user_list(_args: argparse.Namespace) -> int:
    from app.auth.accounts import list_users
    from app.kit.db import utcnow

    conf = settings()
    with read_session(conf) as session:
        users = list_users(session, utcnow())
    print_table(("USERNAME", "ROLE", "STATUS", "CREATED", "LOCKED UNTIL"),
                [(u.username, u.role, "active" if u.active else "disabled",
                  when(u.created_at, conf, "%Y-%m-%d"), when(u.locked_until, conf))
                 for u in users])
    return EXIT_OK


def cmd_user_set_role(args: argparse.Namespace) -> int:
    from app.auth.accounts import set_role
    from app.kit.db import utcnow

    with write_session(settings()) as session:
        old = set_role(session, args.name, args.role, actor=cli_actor(), now=utcnow())
    print(f"user {args.name!r}: role {old} -> {args.role}, from their next request")
    return EXIT_OK


def cmd_user_disable(args: argparse.Namespace) -> int:
    from app.auth.accounts import disable_user
    from app.kit.db import utcnow

    with write_session(settings()) as session:
        sessions, tokens = disable_user(session, args.name, actor=cli_actor(), now=utcnow())
    print(f"user {args.name!r} disabled; revoked {sessions} dashboard session(s) "
          f"and {tokens} API token(s)")
    return EXIT_OK


def cmd_user_enable(args: argparse.Namespace) -> int:
    from app.auth.accounts import enable_user
    from app.kit.db import utcnow

    with write_session(settings()) as session:
        enable_user(session, args.name, actor=cli_actor(), now=utcnow())
    print(f"user {args.name!r} enabled; tokens revoked when disabled stay revoked")
    return EXIT_OK


def cmd_user_unlock(args: argparse.Namespace) -> int:
    from app.auth.accounts import unlock_user
    from app.kit.db import utcnow

    with write_session(settings()) as session:
        unlock_user(session, args.name, actor=cli_actor(), now=utcnow())
    print(f"user {args.name!r} unlocked")
    return EXIT_OK


def cmd_user_reset_password(args: argparse.Namespace) -> int:
    from app.auth.accounts import reset_password
    from app.kit.db import utcnow

    password = read_password(args.password_stdin)
    with write_session(settings()) as session:
        revoked = reset_password(session, args.name, password, actor=cli_actor(), now=utcnow())
    print(f"password of {args.name!r} reset; they must change it at their next sign-in; "
          f"revoked {revoked} dashboard session(s)")
    return EXIT_OK


def cmd_token_list(args: argparse.Namespace) -> int:
    from app.auth.accounts import list_tokens

    conf = settings()
    with read_session(conf) as session:
        tokens = list_tokens(session, args.name)
    # LAST USED is refreshed at most hourly (app/auth/service.py, TOKEN_TOUCH_EVERY).
    print_table(("ID", "USER", "NAME", "CREATED", "EXPIRES", "LAST USED", "REVOKED"),
                [(str(t.id), t.username, t.name, when(t.created_at, conf),
                  when(t.expires_at, conf) if t.expires_at else "never",
                  when(t.last_used_at, conf), when(t.revoked_at, conf))
                 for t in tokens])
    return EXIT_OK


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from app.auth.accounts import revoke_token
    from app.kit.db import utcnow

    with write_session(settings()) as session:
        token = revoke_token(session, args.id, actor=cli_actor(), now=utcnow())
    print(f"token {token.id} ({token.name!r} of user {token.username!r}) revoked")
    return EXIT_OK


def add_user_commands(sub: Any) -> None:
    u = sub.add_parser("user", help="users").add_subparsers(dest="user_cmd", required=True)
    ua = u.add_parser("add", help="create a user")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=ROLE_CHOICES)
    ua.add_argument("--password-stdin", action="store_true")
    ua.set_defaults(func=cmd_user_add)
    u.add_parser("list", help="every user: role, status, lockout").set_defaults(func=cmd_user_list)
    ur = u.add_parser("set-role", help="change a user's role (holds from their next request)")
    ur.add_argument("name")
    ur.add_argument("role", choices=ROLE_CHOICES)
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


def add_token_commands(sub: Any) -> None:
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
