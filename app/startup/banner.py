"""What `textline serve` prints before it serves: where to go, how to sign in, what is unsafe.

Plain lines on standard output, apart from the logs (standard error, JSON unless on a terminal),
so that a newcomer finds the address and the demo passwords at a glance."""

from __future__ import annotations

import os
import sys

from sqlalchemy.engine import make_url

from app.auth.demo import DemoUsers
from app.kit.config import Settings
from app.sms.signed_form import INBOUND_PATH


def command_name(argv0: str | None = None) -> str:
    """How the person started this command, so that the hints can be pasted back: the venv's
    script as typed (`.venv/bin/textline`), else `textline`."""
    first = argv0 if argv0 is not None else sys.argv[0]
    if os.path.basename(first) == "textline":
        return first
    return "textline"


def local_url(host: str, port: int) -> str:
    """The address a browser on this machine uses, whatever the server listens on."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def serve_banner(settings: Settings, host: str, port: int, workers: int,
                 demo: DemoUsers | None, command: str = "textline") -> str:
    url = local_url(host, port)
    where = "every address of this host" if host in ("0.0.0.0", "::", "") else url
    db = make_url(settings.database_url)
    database = (f"SQLite at {db.database}" if settings.is_sqlite
                else f"{db.get_backend_name()} at {db.host or 'localhost'}/{db.database or ''}")
    sms = ("console: replies are logged, never sent" if settings.provider == "console"
           else "Twilio")
    lines = [
        f"Textline is starting on {where} ({workers} worker{'s' if workers != 1 else ''}; "
        f"{database}; SMS {sms}).",
        f"  Dashboard:  {url}/",
    ]
    if settings.public_url.rstrip("/") != url:
        lines.append(f"  Twilio calls: {settings.public_url}{INBOUND_PATH}   (TEXTLINE_PUBLIC_URL)")
    if demo is not None:
        if demo.created:
            lines.append("  Demo sign-in (one-time passwords: you choose your own at first sign-in,"
                         " and these are not shown again):")
            lines += [f"    {name:<12} {password}" for name, password in demo.created]
        if demo.existing:
            names = " and ".join(demo.existing)
            lines += [
                f"  Demo users {names} already exist: their passwords were printed when they were"
                " made, and are stored only as hashes.",
                f"    Forgotten? {command} user reset-password {demo.existing[0]}"
                "   (asks for a new one, to be changed at the next sign-in)",
            ]
    if settings.provider == "console":
        lines.append(f"  Text it as a passenger: {command} simulate --url {url}"
                     f"   or {url}/simulator")
    if not settings.signatures_required:
        lines += [
            "  WARNING: webhooks are accepted unsigned (no TEXTLINE_TWILIO_AUTH_TOKEN): anyone who",
            "           reaches this port can post texts. Never expose this server to the internet so.",
        ]
    return "\n".join(lines)
