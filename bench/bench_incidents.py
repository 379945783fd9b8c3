"""Proposing an incident among 100,000 cases: how long does one report's match take?

    .venv/bin/python bench/bench_incidents.py [--cases 100000] [--places 2000] [--rounds 200]
                                              [--postgres URL | --no-postgres] [--rollback]

Seeds a fresh database (SQLite, then PostgreSQL where reachable) with --cases cases spread over
--places stations and train services and over the months before now, one of them the scene of
a crowd of twenty reports in the last five minutes. Then, each round, opens a new report and
times match_report() alone (the step a text takes after its decision: the place's row locked,
the reports there within the window read, each judged, the link or the proposal written): at
the crowd's place (it joins the incident), at a quiet one, and at one never matched at. Each
round commits as the service does, and its report is then moved out of the window, untimed;
--rollback rolls each round back instead (psycopg then forgets its prepared statements, so
PostgreSQL plans every statement of every round). Target: under 5 ms. Also prints the plan of
the read, which must be a range of ix_cases_place_last_inbound, not a scan.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_load import PG_DEFAULT, drop_schema, pg_schema_url
from bench.harness import percentile

CROWD = 20
_SERIAL = itertools.count()
CROWD_PLACE = "train:14:32 york to leeds"


def _place(i: int) -> tuple[str, dict]:  # type: ignore[type-arg]
    if i % 2:
        crs = f"{chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}{chr(65 + (i // 676) % 26)}"
        return f"station:{crs}", {"text": f"at {crs}", "station": {"name": crs, "crs": crs}}
    train = f"{i % 24:02d}:{i % 60:02d} town{i} to city{i}"
    return f"train:{train}", {"text": train, "train": train}


def seed(url: str, cases: int, places: int, batch: int = 5000) -> float:
    from sqlalchemy import create_engine, insert

    from app.kit import migrate
    from app.models import Case, IncidentPlace, Reporter

    began = time.perf_counter()
    migrate.upgrade(url)
    engine = create_engine(url)
    rng = random.Random(23)
    now = datetime.now(UTC)
    for start in range(0, cases, batch):
        reporters, rows = [], []
        for i in range(start + 1, min(cases, start + batch) + 1):
            crowd = i > cases - CROWD
            if crowd:
                key, loc = CROWD_PLACE, {"text": "14:32 york to leeds", "train": "14:32 York to Leeds"}
                at = now - timedelta(seconds=15 * (cases - i))
            else:
                key, loc = _place(rng.randrange(places))
                at = now - timedelta(minutes=rng.randint(31, 60 * 24 * 200))
            facts = {"location": loc, "risks": [{"indicator": "violence", "evidence": "fight"}]}
            reporters.append({"id": i, "phone": f"+44770{i:07d}", "opted_out": False,
                              "created_at": at})
            rows.append({"id": i, "reference": f"TL-{at:%y%m%d}-{i:06d}", "reporter_id": i,
                         "open_reporter_id": i if crowd else None,
                         "status": "open" if crowd else "closed",
                         "stage": "awaiting_operator" if crowd else "closed",
                         "conversation": "done", "facts": facts, "discreet": False,
                         "conversation_state": {"incident_words": ["lads", "punching"]},
                         "decision": "999", "queue": "emergency", "priority": "P1",
                         "created_at": at, "updated_at": at, "last_inbound_at": at,
                         "closed_at": None if crowd else at + timedelta(hours=1),
                         "place_key": key})
        with engine.begin() as conn:
            conn.execute(insert(Reporter.__table__), reporters)
            conn.execute(insert(Case.__table__), rows)
    with engine.begin() as conn:
        # Every place has been matched at before, as in a service that has run for months.
        conn.execute(insert(IncidentPlace.__table__),
                     [{"key": _place(p)[0], "created_at": now} for p in range(places)])
        if url.startswith("postgresql"):
            for table in ("reporters", "cases"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 (constant names)
                                     f"(SELECT max(id) FROM {table}))")
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    _link_crowd(url)
    return time.perf_counter() - began


def _link_crowd(url: str) -> None:
    """The crowd's reports made one incident, as their own texts would have."""
    from sqlalchemy import select

    from app.incidents.service import match_report
    from app.kit.config import Settings
    from app.kit.db import make_engine, make_sessionmaker, unit_of_work
    from app.models import Case

    engine = make_engine(url)
    settings = Settings(database_url=url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        for case in session.execute(select(Case).where(Case.place_key == CROWD_PLACE)
                                    .order_by(Case.id)).scalars():
            match_report(session, settings, case, "lads punching", case.last_inbound_at)
    engine.dispose()


QUIET = _place(1)[1]  # a station with months of closed cases, none within the window
CROWD_LOC = {"text": "14:32 york to leeds", "train": "14:32 York to Leeds"}


def time_match(url: str, rounds: int, loc: dict[str, Any] | None,
               commit: bool = True) -> tuple[list[float], list[float], int]:
    """Wall-clock times and this thread's CPU times, in ms, sorted; the statements (each a
    round trip to the database) one match sends, counting the flush of what it changed.

    With `commit`, each round commits as the service does, so psycopg keeps the statements it
    has prepared (it forgets them at every ROLLBACK) and PostgreSQL plans them no more; the
    round's report is then moved out of the place and the window, untimed, so that every round
    finds the same scene. `loc` None is a place never matched at, a new one each round."""
    from sqlalchemy import event, update

    from app.incidents.service import match_report
    from app.kit.config import Settings
    from app.kit.db import make_engine, make_sessionmaker
    from app.models import Case, Reporter

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    settings = Settings(database_url=url)
    timings: list[float] = []
    cpu_ms: list[float] = []
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: sent.append(statement))
    statements = 0
    for _ in range(rounds + 5):
        session = sessions()
        try:
            now = datetime.now(UTC)
            serial = next(_SERIAL)  # committed rounds leave their reporters behind
            reporter = Reporter(phone=f"+44799{serial:07d}", opted_out=False, created_at=now)
            session.add(reporter)
            session.flush()
            place = loc or {"text": f"at N{serial:04d}",
                            "station": {"name": f"N{serial:04d}", "crs": f"N{serial:04d}"}}
            case = Case(reporter_id=reporter.id, open_reporter_id=reporter.id, status="open",
                        reference=f"TL-BENCH-{serial}", conversation_state={}, decision="999",
                        queue="emergency", priority="P1", created_at=now, updated_at=now,
                        last_inbound_at=now,
                        facts={"location": place,
                               "risks": [{"indicator": "violence", "evidence": "fight"}]})
            session.add(case)
            session.flush()
            sent.clear()
            began, cpu = time.perf_counter(), time.thread_time()
            match_report(session, settings, case, "two lads punching each other", now)
            session.flush()
            timings.append((time.perf_counter() - began) * 1000)
            cpu_ms.append((time.thread_time() - cpu) * 1000)
            statements = len(sent)
            if loc is CROWD_LOC and case.incident_id is None:
                raise RuntimeError("the report at the crowd's place did not join its incident")
            if commit:
                session.commit()
                long_ago = now - timedelta(days=400)
                session.execute(update(Case).where(Case.id == case.id).values(
                    incident_id=None, place_key=None, status="closed", open_reporter_id=None,
                    last_inbound_at=long_ago, closed_at=long_ago))
                session.commit()
        finally:
            session.rollback()
            session.close()
    engine.dispose()
    return sorted(timings[5:]), sorted(cpu_ms[5:]), statements  # the first few warm caches


def plan(url: str) -> str:
    """The plan of the read a match makes after locking its place (scene()), at the crowd's
    place: with PostgreSQL's actual times (EXPLAIN ANALYZE), SQLite's chosen indexes."""
    from sqlalchemy import create_engine

    try:
        from app.incidents.scene import CANDIDATES, _scene_statement
    except ImportError:  # a checkout from before the one read (side by side, bench/README.md)
        return "(no scene() in this checkout)"

    engine = create_engine(url)
    compiled = _scene_statement().compile(engine)
    now = datetime.now(UTC)
    params = compiled.construct_params({
        "place": CROWD_PLACE, "since": now - timedelta(minutes=30),
        "until": now + timedelta(minutes=30), "exclude": 0, "limit": CANDIDATES})
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        if url.startswith("sqlite"):
            args = [params[k].isoformat(" ") if isinstance(params[k], datetime) else params[k]
                    for k in compiled.positiontup or ()]
            rows = raw.execute(f"EXPLAIN QUERY PLAN {compiled}", args).fetchall()  # type: ignore[union-attr]
            lines = [str(r[-1]) for r in rows if "SCAN" in r[-1] or "SEARCH" in r[-1]]
        else:
            with raw.cursor() as cur:  # type: ignore[union-attr]
                cur.execute(f"EXPLAIN (ANALYZE) {compiled}", params)
                lines = [r[0].strip() for r in cur.fetchall()]
            lines = [line for line in lines if "Scan" in line or "Time" in line]
    engine.dispose()
    return "\n    ".join(lines)


def run(name: str, url: str, args: argparse.Namespace) -> list[str]:
    seconds = seed(url, args.cases, args.places)
    lines = [f"{name}: {args.cases} cases over {args.places} places seeded in {seconds:.0f} s "
             f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)",
             f"  plan of the read after the lock:\n    {plan(url)}"]
    for label, loc in (("at the crowd's place (joins its incident)", CROWD_LOC),
                       ("at a quiet place (nothing to match)", QUIET),
                       ("at a place never matched at (its row made)", None)):
        t, cpu, statements = time_match(url, args.rounds, loc, commit=not args.rollback)
        lines.append(f"  match_report {label}: wall p50 {percentile(t, 50):.2f} ms, "
                     f"p99 {percentile(t, 99):.2f} ms; CPU p50 {percentile(cpu, 50):.2f} ms, "
                     f"p99 {percentile(cpu, 99):.2f} ms; {statements} statements "
                     f"({len(t)} rounds; target < 5 ms; load average "
                     f"{os.getloadavg()[0]:.1f})")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--places", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--postgres", default=PG_DEFAULT)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--rollback", action="store_true",
                        help="roll each round back instead of committing it (PostgreSQL then "
                        "plans every statement of every round)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for line in run("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", args):
            print(line, flush=True)
    if not args.no_postgres:
        try:
            schema, url = pg_schema_url(args.postgres)
        except Exception as exc:  # no PostgreSQL here: SQLite's figures stand alone
            print(f"PostgreSQL: not reachable ({type(exc).__name__})")
            return 0
        try:
            for line in run("PostgreSQL", url, args):
                print(line, flush=True)
        finally:
            drop_schema(args.postgres, schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
