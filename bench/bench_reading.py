"""Reading in-process: CPU a text of the reader's batch entry point over texts already stored.

`.venv/bin/python bench/bench_reading.py [--conversations 100] [--rounds 3] [--only sqlite
postgresql] [--profile FILE] [--batch-seconds S]`: each round, `--conversations` four-text
conversations from conversations.py (400 texts by default) go into the inbox of a fresh, migrated
database in one transaction, in the order bench_load.py's 16 connections send them; then
`process_pending` reads them all in this thread, timed in wall clock and in this thread's CPU
time. The start-up state is frozen out of the collector (`gc.freeze()`) after a warm-up, as
`textline serve` does. Nothing else runs in the process: no webhook, no senders. On a shared
machine read the best round's CPU: contention only adds. `--profile FILE` writes cProfile's
statistics of the first round; `--batch-seconds` overrides the reader's BATCH_SECONDS.
`--code DIR` reads with another tree's app (a checkout from before), so that two versions are
measured by the same script side by side. `--count` measures no time: batches of 32 whatever
their time, and for each round the SQL statements a text (every one sent to the database,
SAVEPOINTs included) and the Python calls a text (cProfile's count, C functions included):
deterministic figures that a shared machine does not move. Each round also gives the CPU a text of the incident
match (match_report, called by the conversation's host), the part a match's changes move.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import os
import pstats
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

# The tree whose app is measured (--code DIR), known before anything imports app.
sys.path.insert(0, str(Path(sys.argv[sys.argv.index("--code") + 1]).resolve()
                       if "--code" in sys.argv[:-1] else Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from conversations import Text, conversations
from sqlalchemy import create_engine, event, func, insert, select, text

from app.inbox.inbound import Inbound
from app.inbox.writer import inbox_row
from app.kit import migrate
from app.kit.config import Settings
from app.kit.db import utcnow
from app.models import Inbox
from app.startup.bootstrap import build_runtime

PG = os.environ.get("TEXTLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pg_schema() -> tuple[str, str] | None:
    schema = f"bench_reading_{uuid.uuid4().hex[:8]}"
    try:
        with create_engine(PG).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception:
        return None
    sep = "&" if "?" in PG else "?"
    return f"{PG}{sep}options=-csearch_path%3D{schema}", schema


def reader() -> Any:
    """The reader's module; in a tree from before it moved into the inbox (the same script run
    against an older checkout, side by side), the processor's."""
    try:
        return importlib.import_module("app.inbox.reader")
    except ImportError:
        return importlib.import_module("app.cases.processor")


def arrival_order(convs: list[list[Text]], connections: int = 16) -> list[Text]:
    """The texts as bench_load.py sends them: each connection its own conversations, one after
    the other, a conversation's texts in order; the connections taking turns."""
    lanes = [[t for conv in convs[c::connections] for t in conv] for c in range(connections)]
    return [lane[i] for i in range(max(map(len, lanes))) for lane in lanes if i < len(lane)]


def store(rt: object, texts: list[Text]) -> None:
    """Into the inbox in one transaction, as the webhook's writer stores them."""
    start = utcnow() - timedelta(minutes=5)
    rows = [inbox_row(Inbound(t.sid, t.phone, "61016", t.body), start + timedelta(milliseconds=n))
            for n, t in enumerate(texts)]
    with rt.sessions.begin() as session:  # type: ignore[attr-defined]
        session.execute(insert(Inbox), rows)


def counted(rt: Any, process_pending: Any) -> tuple[int, int, int]:
    """Texts read, statements sent and Python calls made by one process_pending."""
    statements = [0]

    def sent(*_: Any) -> None:
        statements[0] += 1

    event.listen(rt.engine, "before_cursor_execute", sent)
    prof = cProfile.Profile()
    try:
        prof.enable()
        read = process_pending(rt)
        prof.disable()
    finally:
        event.remove(rt.engine, "before_cursor_execute", sent)
    return read, statements[0], pstats.Stats(prof).total_calls  # type: ignore[attr-defined]


def measure(url: str, count: int, profile: str | None, *, count_rounds: int = 3,
            freeze: bool = True, counting: bool = False) -> str:
    migrate.upgrade(url)
    settings = Settings(database_url=url, sms_provider="console", run_worker=False,
                        public_url="https://textline.example.org",
                        secret_key="bench-secret-key-0123456789abcdef",
                        spool_dir=Path(tempfile.mkdtemp()) / "spool")
    rt = build_runtime(settings)
    process_pending = reader().process_pending
    host = importlib.import_module("app.cases.conversation")
    matching = [0.0]
    match_report = host.match_report

    def timed_match(*args: Any, **kwargs: Any) -> Any:
        began = time.thread_time()
        try:
            return match_report(*args, **kwargs)
        finally:
            matching[0] += time.thread_time() - began

    host.match_report = timed_match
    # Warm up first (the extractors' word lists load on first use), on conversations of its own.
    store(rt, arrival_order(list(conversations(8, run=99))))
    process_pending(rt)
    if freeze:
        gc.freeze()  # as `textline serve` does once started (app/main.py)
    rounds = []
    if counting:
        figures = []
        for n in range(count_rounds):
            store(rt, arrival_order(list(conversations(count, run=n))))
            read, statements, calls = counted(rt, process_pending)
            figures.append(f"{read} read, {statements / max(read, 1):.2f} statements and "
                           f"{calls / max(read, 1):,.0f} Python calls a text")
        rt.engine.dispose()
        return "; ".join(figures)
    for n in range(count_rounds):
        store(rt, arrival_order(list(conversations(count, run=n))))
        prof = cProfile.Profile() if profile and n == 0 else None
        matching[0] = 0.0
        wall, cpu = time.perf_counter(), time.thread_time()
        if prof:
            prof.enable()
        read = process_pending(rt)
        if prof:
            prof.disable()
            prof.dump_stats(profile)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        rounds.append((cpu * 1000 / max(read, 1), wall * 1000 / max(read, 1), read,
                       matching[0] * 1000 / max(read, 1)))
    with rt.sessions() as session:
        left = session.execute(select(func.count(Inbox.id))).scalar()
    rt.engine.dispose()
    per_round = ", ".join(f"{c:.2f} ({m:.2f})" for c, _, _, m in rounds)
    best = min(rounds)
    return (f"{sum(r for _, _, r, _ in rounds)} read ({left} left); CPU ms a text by round "
            f"(of which the incident match) {per_round}; best {best[0]:.2f} ms CPU "
            f"({best[3]:.2f} matching), {best[1]:.2f} ms wall ({1000 / best[1]:.0f} texts/s)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--conversations", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds of --conversations each; the best round is the figure to read")
    p.add_argument("--only", nargs="+", default=["sqlite", "postgresql"])
    p.add_argument("--profile", help="cProfile statistics of the reading to this file (+ backend)")
    p.add_argument("--code", type=Path,
                   help="the tree whose app to measure (a checkout from before)")
    p.add_argument("--batch-seconds", type=float,
                   help="the reader's time limit for one batch (processor.BATCH_SECONDS)")
    p.add_argument("--count", action="store_true",
                   help="count statements and Python calls a text instead of timing")
    args = p.parse_args()
    if args.count:
        args.batch_seconds = 3600.0  # batches of BATCH texts, whatever their time
    if args.batch_seconds is not None:
        reader().BATCH_SECONDS = args.batch_seconds
    tree = Path(importlib.import_module("app").__file__ or "").parent.parent
    print(f"load average {os.getloadavg()[0]:.1f}; app from {tree}")
    if "sqlite" in args.only:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/reading.db"
            prof = args.profile and args.profile + ".sqlite"
            print("SQLite:", measure(url, args.conversations, prof, count_rounds=args.rounds,
                                            counting=args.count))
    if "postgresql" in args.only:
        found = pg_schema()
        if found is None:
            print("PostgreSQL: skipped (no server)")
        else:
            url, schema = found
            try:
                prof = args.profile and args.profile + ".pg"
                print("PostgreSQL:", measure(url, args.conversations, prof,
                                             count_rounds=args.rounds, counting=args.count))
            finally:
                with create_engine(PG).begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
