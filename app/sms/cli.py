"""`textline simulate`: registered by app/cli.py's build_parser."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.kit.cli import settings


def cmd_simulate(args: argparse.Namespace) -> int:
    from app.sms.router import INBOUND_PATH
    from app.sms.simulate import run_simulator

    conf = settings()
    url = args.url or conf.public_url + INBOUND_PATH
    return run_simulator(conf, url, args.from_number, sys.stdin, sys.stdout)


def add_commands(sub: Any) -> None:
    m = sub.add_parser("simulate", help="text the service as a passenger would")
    m.add_argument("--from", dest="from_number", default="+447700900123")
    m.add_argument("--url")
    m.set_defaults(func=cmd_simulate)
