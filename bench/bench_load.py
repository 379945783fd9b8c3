"""Load: the real webhook under signed, unique Twilio requests, against a bare FastAPI baseline.

    .venv/bin/python bench/bench_load.py [--conversations 1500] [--connections 16]
                                         [--postgres URL | --no-postgres] [--profile DIR]

One run, one machine: the baseline (bench/baseline_app.py), then `textline serve` on a fresh
SQLite file (one process), then on PostgreSQL with two workers where it is reachable. Each
target gets the same traffic: four-text conversations from many phones over --connections
keep-alive connections, each conversation's texts in order. Prints requests per second, p50 and
p99 latency and each figure's ratio to the baseline; then checks that every acknowledged
MessageSid is stored exactly once and nothing else was stored.

Targets (issue 8): SQLite throughput >= 50% of the baseline, p99 < 50 ms at 16 connections,
nothing lost or duplicated; PostgreSQL with two workers at least the SQLite figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.conversations import Text, conversations
from bench.harness import (
    PYTHON,
    Connection,
    Figures,
    free_port,
    serving,
    textline_argv,
)

AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "b" * 32
PATH = "/webhooks/twilio/sms"
PG_DEFAULT = os.environ.get("TEXTLINE_TEST_POSTGRES_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def signed(port: int, text: Text) -> tuple[dict[str, str], dict[str, str]]:
    from app.sms.signature import sign

    form = {"MessageSid": text.sid, "SmsSid": text.sid, "AccountSid": ACCOUNT_SID,
            "From": text.phone, "To": "61016", "Body": text.body, "NumMedia": "0"}
    sig = sign(AUTH_TOKEN, f"http://127.0.0.1:{port}{PATH}", form)
    return form, {"X-Twilio-Signature": sig}


async def drive(port: int, convs: list[list[Text]], connections: int
                ) -> tuple[Figures, set[str]]:
    """Every conversation once, `connections` at a time; returns figures and acknowledged SIDs."""
    prepared = deque([[signed(port, t) + (t.sid,) for t in conv] for conv in convs])
    latencies: list[float] = []
    acked: set[str] = set()
    errors = 0

    async def one_connection() -> None:
        nonlocal errors
        conn = Connection(port)
        await conn.open()
        try:
            while prepared:
                for form, headers, sid in prepared.popleft():
                    began = time.perf_counter()
                    try:
                        status, _ = await conn.post_form(PATH, form, headers)
                    except (OSError, asyncio.IncompleteReadError):
                        errors += 1
                        await conn.close()
                        continue
                    latencies.append((time.perf_counter() - began) * 1000)
                    if status == 200:
                        acked.add(sid)
                    else:
                        errors += 1
        finally:
            await conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    seconds = time.perf_counter() - began
    return Figures("", len(latencies), errors, seconds, latencies), acked


def unread(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM inbox")).scalar_one()
    finally:
        engine.dispose()


def wait_until_read(url: str, timeout: float = 600.0) -> float:
    """Seconds from now until the server has read every text it acknowledged."""
    began = time.perf_counter()
    while unread(url) and time.perf_counter() - began < timeout:
        time.sleep(0.1)
    return time.perf_counter() - began


def run_target(name: str, argv: list[str], env: dict[str, str], port: int, convs: list[list[Text]],
               warmup: list[list[Text]], connections: int, profile: Path | None,
               url: str | None = None) -> tuple[Figures, set[str], str]:
    log = Path(tempfile.gettempdir()) / f"textline-bench-{name.split()[0].lower()}.log"
    with serving(argv, env, port, log=log) as proc:
        warm, warm_acked = asyncio.run(drive(port, warmup, connections))
        spy = None
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
            out = profile / f"{name.split()[0].lower()}.txt"
            spy = subprocess.Popen([str(Path(PYTHON).parent / "py-spy"), "record", "--pid",
                                    str(proc.pid), "--subprocesses", "--format", "raw",
                                    "--rate", "200", "--output", str(out)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        figures, acked = asyncio.run(drive(port, convs, connections))
        if spy is not None:  # the load only: reading the backlog afterwards is not profiled
            spy.send_signal(2)
            spy.wait(30)
        reading = ""
        if url is not None:
            # The webhook only stores; the processor reads each text (conversation, dispatch,
            # replies) straight after, giving way to the webhook while a burst lasts.
            behind = unread(url)
            after = wait_until_read(url)
            total = figures.seconds + after
            reading = (f"{behind} of {len(acked) + len(warm_acked)} texts unread when the load "
                       f"ended, all read {after:.1f} s later: {len(acked) / total:.0f} texts/s "
                       f"read end to end")
    figures.name = name
    figures.errors += warm.errors
    return figures, acked | warm_acked, reading


def check_stored(url: str, acked: set[str]) -> str:
    """'ok' when every acknowledged SID is stored exactly once and nothing else was stored."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT provider_sid, count(*) FROM messages "
                                 "WHERE direction = 'inbound' GROUP BY provider_sid")).all()
        waiting = conn.execute(text("SELECT count(*) FROM inbox")).scalar_one()
        replies = conn.execute(text("SELECT count(*) FROM messages WHERE author = 'bot'")
                               ).scalar_one()
    engine.dispose()
    stored = {sid: n for sid, n in rows}
    lost = [s for s in acked if s not in stored]
    doubled = [s for s, n in stored.items() if n > 1]
    extra = [s for s in stored if s not in acked]
    if not (lost or doubled or extra or waiting):
        return (f"ok: {len(acked)} acknowledged, each stored once and read "
                f"({replies} bot replies queued)")
    return (f"FAILED: {len(lost)} lost, {len(doubled)} stored twice, {len(extra)} "
            f"unacknowledged, {waiting} still unread")


def pg_schema_url(base: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base, connect_args={"connect_timeout": 3})
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return schema, f"{base}?options=-csearch_path%3D{schema}"


def drop_schema(base: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def textline_env(url: str, port: int) -> dict[str, str]:
    return {"TEXTLINE_DATABASE_URL": url, "TEXTLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "TEXTLINE_TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TEXTLINE_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TEXTLINE_SMS_PROVIDER": "console",
            "TEXTLINE_SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "TEXTLINE_LOG_LEVEL": os.environ.get("TEXTLINE_LOG_LEVEL", "INFO")}


def line(f: Figures, base: Figures | None) -> str:
    p50, p99 = f.p(50), f.p(99)
    if base is None:
        ratios = "      1.00        1.00       1.00"
    else:
        ratios = (f"{f.rps / base.rps:10.2f}  {p50 / base.p(50):10.1f}x "
                  f"{p99 / base.p(99):9.1f}x")
    return (f"{f.name:<28} {f.requests:>7} {f.errors:>4} {f.rps:>9.0f} {p50:>8.1f} {p99:>8.1f}"
            f" {ratios}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--conversations", type=int, default=1500)
    p.add_argument("--warmup", type=int, default=50, help="conversations before timing")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--postgres", default=PG_DEFAULT, help="SQLAlchemy URL of a database to use")
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument("--only", choices=["baseline", "sqlite", "postgres"], action="append")
    p.add_argument("--profile", type=Path, help="record py-spy raw stacks of each Textline run")
    args = p.parse_args()
    only = set(args.only or ["baseline", "sqlite", "postgres"])

    results: list[Figures] = []
    checks: list[str] = []
    base: Figures | None = None
    workdir = Path(tempfile.mkdtemp(prefix="textline-bench-"))
    print(f"{args.conversations} conversations x 4 texts over {args.connections} connections "
          f"(+{args.warmup} warm-up), on {os.cpu_count()} cores")
    try:
        if "baseline" in only:
            port = free_port()
            argv = [PYTHON, "-m", "bench.baseline_app", "--port", str(port)]
            base, _, _ = run_target("bare FastAPI (1 process)", argv, {}, port,
                                 list(conversations(args.conversations, 1)),
                                 list(conversations(args.warmup, 2)), args.connections, None)
            results.append(base)
        if "sqlite" in only:
            port = free_port()
            url = f"sqlite:///{workdir / 'bench.db'}"
            figures, acked, reading = run_target(
                "Textline SQLite (1 process)", textline_argv(port, 1), textline_env(url, port),
                port, list(conversations(args.conversations, 3)),
                list(conversations(args.warmup, 4)), args.connections, args.profile, url)
            results.append(figures)
            checks.append(f"SQLite: {check_stored(url, acked)}")
            checks.append(f"SQLite: {reading}")
        if "postgres" in only and not args.no_postgres:
            try:
                schema, url = pg_schema_url(args.postgres)
            except Exception as exc:  # no server here: say so and go on
                checks.append(f"PostgreSQL: skipped ({type(exc).__name__})")
            else:
                try:
                    port = free_port()
                    figures, acked, reading = run_target(
                        "Textline PostgreSQL (2 wkrs)", textline_argv(port, 2),
                        textline_env(url, port), port, list(conversations(args.conversations, 5)),
                        list(conversations(args.warmup, 6)), args.connections, args.profile, url)
                    results.append(figures)
                    checks.append(f"PostgreSQL: {check_stored(url, acked)}")
                    checks.append(f"PostgreSQL: {reading}")
                finally:
                    drop_schema(args.postgres, schema)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n{'target':<28} {'reqs':>7} {'err':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
          f" {'rps ratio':>10} {'p50 ratio':>11} {'p99 ratio':>10}")
    for f in results:
        print(line(f, base if f is not base else None))
    print()
    for c in checks:
        print(c)
    return 1 if any("FAILED" in c for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
