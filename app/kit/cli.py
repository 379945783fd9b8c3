"""What every domain's commands share: exit codes, one-line errors, who acts, settings, sessions
and tables. app/cli.py gathers the commands; a domain's cli.py imports this, never app/cli.py."""

from __future__ import annotations

import getpass
import sys
from datetime import datetime
from typing import Any

from app.kit.config import Settings, load_settings

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A failure to report in one line."""


def settings() -> Settings:
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


def read_password(from_stdin: bool) -> str:
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


def write_session(settings: Settings) -> Any:
    from app.kit.db import make_engine, make_sessionmaker, unit_of_work

    return unit_of_work(make_sessionmaker(make_engine(settings.database_url)))


def read_session(settings: Settings) -> Any:
    from app.kit.db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(settings.database_url, read_only=True))()


def when(value: datetime | None, settings: Settings, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    # Shown in the control room's time zone, as the dashboard and the exports show times.
    return value.astimezone(settings.tz).strftime(fmt) if value is not None else "-"


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
