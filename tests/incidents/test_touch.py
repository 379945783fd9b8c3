"""A text that leaves its case's decision as it was only moves its incident's time on: in the
database, and on the incident already loaded in the reading session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.inbox.reader import process_pending
from app.incidents.service import match_report
from app.kit.db import unit_of_work
from app.models import AuditEvent, Case, Incident
from tests.incidents.crowd import arrive, phone

NOW = datetime.now(UTC)


def test_an_undecided_text_touches_its_incident_loaded_or_not(client) -> None:  # type: ignore[no-untyped-def]
    rt = client.app.state.runtime
    arrive(rt, [(phone(1), "fight at platform 4 clapham junction now", NOW - timedelta(minutes=3)),
                (phone(2), "people fighting at clapham junction platform 4",
                 NOW - timedelta(minutes=2))])
    process_pending(rt)
    with rt.sessions() as session:
        a, b = session.execute(select(Case).order_by(Case.id)).scalars()
        events = len(session.execute(select(AuditEvent.seq)).all())
    assert a.incident_id is not None and a.incident_id == b.incident_id
    later = NOW - timedelta(minutes=1)
    with unit_of_work(rt.sessions) as session:
        incident = session.get(Incident, a.incident_id)
        decision = (incident.decision, incident.priority)  # type: ignore[union-attr]
        case = session.get(Case, a.id)
        match_report(session, rt.settings, case, "still going on", later,  # type: ignore[arg-type]
                     decided=False)
        assert incident.updated_at == later  # type: ignore[union-attr]
        assert incident not in session.dirty
    with rt.sessions() as session:
        stored = session.get(Incident, a.incident_id)
        assert stored.updated_at == later  # type: ignore[union-attr]
        assert (stored.decision, stored.priority) == decision  # type: ignore[union-attr]
        assert len(session.execute(select(AuditEvent.seq)).all()) == events
