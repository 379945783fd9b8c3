"""Twenty first texts about one thing, read at the same moment by two workers (each its own
engine and connections, as two processes have): one incident, never two."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.inbox.reader import process_due, process_pending
from app.main import create_app
from app.models import Case, Incident
from tests.incidents.crowd import FIGHT, arrive, phone


def _read_one_at_a_time(rt, errors: list[Exception], barrier: threading.Barrier) -> None:  # type: ignore[no-untyped-def]
    skip: set[int] = set()
    barrier.wait()
    try:
        # One text per transaction: the most interleaving two workers can have.
        while process_due(rt, skip=skip, limit=1) is not None:
            pass
    except Exception as exc:  # surfaced by the assertion below
        errors.append(exc)


def test_twenty_first_texts_read_by_two_workers_at_once_make_one_incident(settings) -> None:  # type: ignore[no-untyped-def]
    workers = [create_app(settings).state.runtime for _ in range(2)]
    now = datetime.now(UTC)
    # All within the same second: every one of them a first text, none read yet.
    arrive(workers[0], [(phone(i), body, now + timedelta(milliseconds=i))
                        for i, body in enumerate(FIGHT)])
    errors: list[Exception] = []
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=_read_one_at_a_time, args=(rt, errors, barrier))
               for rt in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    process_pending(workers[0])  # a text skipped while the other held its texter
    with workers[0].sessions() as session:
        assert session.execute(select(func.count(Case.id))).scalar() == 20
        assert session.execute(select(func.count(Incident.id))).scalar() == 1
        incident_ids = set(session.execute(select(Case.incident_id)).scalars())
    assert len(incident_ids) == 1 and None not in incident_ids
    for rt in workers:
        rt.engine.dispose()
