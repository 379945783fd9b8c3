"""`textline simulate`: registered by app/cli.py's build_parser."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.kit.cli import settings


def cmd_simulate(args: argparse.Namespace) -> int:
    from app.kit.cli import CliError
    from app.sms.simulate import run_simulator

    conf = settings()
    try:
        return run_simulator(conf, args.url or conf.public_url, args.from_number, sys.stdin,
                             sys.stdout)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def add_commands(sub: Any) -> None:
    m = sub.add_parser("simulate", help="text the service as a passenger would")
    m.add_argument("--from", dest="from_number", default="+447700900123")
    m.add_argument("--url", help="the server's address (default TEXTLINE_PUBLIC_URL); the "
                   "webhook's path is added unless the URL ends with it")
    m.set_defaults(func=cmd_simulate)
