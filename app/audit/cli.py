"""`textline audit verify`, `textline export ...` and `textline retention run`: registered by
app/cli.py's build_parser."""

from __future__ import annotations

import argparse
import sys
import time
from typing import IO, Any

from app.kit.cli import EXIT_FAIL, EXIT_OK, EXIT_USAGE, CliError, cli_actor, settings


class ProgressBar:
    """One line on stderr, redrawn at most ten times a second; nothing when not a terminal."""

    def __init__(self, total: int, out: IO[str], width: int = 30) -> None:
        self.total, self.out, self.width = max(total, 0), out, width
        self.done, self._drawn = 0, 0.0

    def advance(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if now - self._drawn >= 0.1 or self.done >= self.total:
            self._drawn = now
            self.draw()

    def draw(self) -> None:
        part = min(1.0, self.done / self.total) if self.total else 1.0
        filled = int(part * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        self.out.write(f"\r[{bar}] {self.done:,}/{self.total:,} rows {part:4.0%}")
        self.out.flush()

    def finish(self) -> None:
        self.draw()
        self.out.write("\n")
        self.out.flush()


def cmd_export(args: argparse.Namespace) -> int:
    from app.audit.exports import ExportFailed, begin, build_request, count_rows, record_export
    from app.kit.db import make_engine, make_sessionmaker, unit_of_work
    from app.kit.errors import AppError

    if args.include_pii and not (args.reason or "").strip():
        print("textline: --include-pii needs --reason TEXT (it is audited)", file=sys.stderr)
        return EXIT_USAGE
    conf = settings()
    try:
        req = build_request(args.kind, args.format, args.start, args.end, conf.tz,
                            include_pii=args.include_pii, reason=args.reason)
    except AppError as exc:
        raise CliError(exc.message) from None
    # Reads in deferred transactions: on SQLite they never hold the lock writers need.
    factory = make_sessionmaker(make_engine(conf.database_url, read_only=True))
    err: Any = sys.stderr
    bar = ProgressBar(count_rows(factory, req), err) if err.isatty() else None
    # What can fail at the start (the first query, the file) fails before the export is recorded.
    try:
        body = begin(factory, req, bar.advance if bar else None)
    except ExportFailed as exc:
        why = str(exc.__cause__).splitlines()[0] if exc.__cause__ else ""
        raise CliError(f"{exc.message} ({why})" if why else exc.message) from None
    try:
        out = open(args.output, "wb") if args.output else sys.stdout.buffer
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc.strerror}") from None
    try:
        with unit_of_work(make_sessionmaker(make_engine(conf.database_url))) as session:
            record_export(session, cli_actor(), req, via="cli")
        for chunk in body:
            out.write(chunk)
    finally:
        out.flush()
        if args.output:
            out.close()
        if bar:
            bar.finish()
    return EXIT_OK


def cmd_audit_verify(_args: argparse.Namespace) -> int:
    from app.audit.service import verify
    from app.kit.db import make_engine, make_sessionmaker

    conf = settings()
    with make_sessionmaker(make_engine(conf.database_url))() as session:
        result = verify(session)
    if result.ok:
        print(f"audit chain intact: {result.events} events")
        return EXIT_OK
    print(f"audit chain broken at event {result.first_bad}: {result.problem}", file=sys.stderr)
    return EXIT_FAIL


def cmd_retention_run(args: argparse.Namespace) -> int:
    from app.audit.retention import run_retention
    from app.kit.db import make_engine, make_sessionmaker, utcnow

    conf = settings()
    factory = make_sessionmaker(make_engine(conf.database_url))
    result = run_retention(factory, now=utcnow(), retention_days=conf.retention_days,
                           reopen_hours=conf.reopen_hours, actor=cli_actor(), dry_run=args.dry_run)
    verb = "would redact" if result.dry_run else "redacted"
    print(f"{verb} {result.cases} closed cases ({result.messages} messages, "
          f"{result.reporters} reporters' numbers), closed before {result.cutoff:%Y-%m-%d %H:%M} UTC")
    return EXIT_OK


def add_commands(sub: Any) -> None:
    a = sub.add_parser("audit", help="audit log").add_subparsers(dest="audit_cmd", required=True)
    av = a.add_parser("verify", help="check the hash chain end to end")
    av.set_defaults(func=cmd_audit_verify)

    e = sub.add_parser("export", help="cases, messages or the audit log as CSV or NDJSON")
    e.add_argument("kind", choices=["cases", "messages", "audit"])
    e.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    e.add_argument("--to", dest="end", required=True, help="last day (included), YYYY-MM-DD")
    e.add_argument("--format", choices=["csv", "ndjson"], default="csv")
    e.add_argument("-o", "--output", help="write to FILE instead of standard output")
    e.add_argument("--include-pii", action="store_true", help="phone numbers unmasked")
    e.add_argument("--reason", help="why personal data is exported (audited)")
    e.set_defaults(func=cmd_export)

    r = sub.add_parser("retention", help="data retention").add_subparsers(
        dest="retention_cmd", required=True)
    rr = r.add_parser("run", help="redact closed cases older than TEXTLINE_RETENTION_DAYS")
    rr.add_argument("--dry-run", action="store_true", help="count only, change nothing")
    rr.set_defaults(func=cmd_retention_run)
