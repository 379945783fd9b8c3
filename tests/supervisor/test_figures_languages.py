"""Supervisor figures per language: cases by their conversation's, texts by their own."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from app.kit.db import unit_of_work
from app.models import Case, Message, Reporter
from tests.supervisor.test_figures import figures


def _case(app, n: int, language: str | None, texts: list[str | None],  # type: ignore[no-untyped-def]
          decision: str = "101") -> None:
    created = datetime(2026, 7, 10, 12, tzinfo=UTC) + timedelta(minutes=n)
    with unit_of_work(app.state.sessions) as s:
        reporter = Reporter(phone=f"+44770091{n:04d}", language=language)
        s.add(reporter)
        s.flush()
        case = Case(reporter_id=reporter.id, status="open", created_at=created, updated_at=created,
                    queue="general", decision=decision, language=language,
                    conversation_state={}, facts={})
        s.add(case)
        s.flush()
        s.execute(insert(Message), [
            {"case_id": case.id, "direction": "inbound", "author": "reporter", "body": "x",
             "status": "received", "language": lang, "created_at": created + timedelta(seconds=i)}
            for i, lang in enumerate(texts)])


def test_cases_and_texts_per_language(app):  # type: ignore[no-untyped-def]
    _case(app, 1, "cy", ["cy", None, "cy"], decision="999")
    _case(app, 2, "cy", ["cy", "en"])
    _case(app, 3, "en", ["en"])
    _case(app, 4, "pl", ["pl"])
    _case(app, 5, None, [None])
    figs = figures(app, date(2026, 7, 10), date(2026, 7, 10))
    rows = {r.language: (r.cases, r.flags_999, r.texts) for r in figs.by_language}
    assert rows == {"cy": (2, 1, 3), "en": (1, 0, 2), "pl": (1, 0, 1), "-": (1, 0, 2)}
    assert figs.by_language[-1].language == "-"


def test_the_page_shows_the_language_table(app, client):  # type: ignore[no-untyped-def]
    from tests.dashboard.signin import sign_in

    _case(app, 6, "cy", ["cy"])
    sign_in(client, app, role="supervisor")
    page = client.get("/supervisor?from=2026-07-10&to=2026-07-10").text
    assert 'id="per-language"' in page and "Welsh (cy)" in page
