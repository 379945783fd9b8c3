"""The one read a report's match makes at its place, under the place's lock: the reports there
within the window, every case of their incidents, and those incidents.

Joining a crowd's incident must stay within a few milliseconds among 100,000 cases
(bench/bench_incidents.py): one statement reads everything the link needs, so that nothing
is read again, and on PostgreSQL the same statement takes the lock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    Select,
    Subquery,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from app.incidents.rules import Report, indicators_of, place_of
from app.kit.db import insert_ignoring_conflict
from app.models import Case, Incident, IncidentPlace, IncidentProposal

WORDS_KEY = "incident_words"  # conversation_state: the describing words of the case's texts
SPLIT_KEY = "incident_split"  # conversation_state: a person split it off; never linked by itself
CANDIDATES = 50  # reports looked at per place and window: a crowd, not a year's history


# Locking the place's row moves its count of matches on: an UPDATE takes the row's lock (as
# FOR NO KEY UPDATE does, the count being no key), and a read in the same statement can then
# tell whether another match committed there after the statement began (locked_scene()).
# A Core statement: run through the ORM it was compiled, and its rows matched against the
# session's objects, at every match.
_PLACES = IncidentPlace.__table__
_LOCK_PLACE = (update(_PLACES).where(_PLACES.c.key == bindparam("place"))
               .values(matches=_PLACES.c.matches + 1).returning(_PLACES.c.matches))


def lock_place(session: Session, key: str, now: datetime, *, missing: bool = False) -> None:
    """Lock the place's row, made first if this is the first report there (`missing`: a
    statement has just found no row)."""
    if not missing and \
            session.execute(_LOCK_PLACE, {"place": key}).scalar_one_or_none() is not None:
        return  # most places have been seen before: one statement, not two
    insert_ignoring_conflict(session, IncidentPlace,
                             {"key": key, "created_at": now, "matches": 0}, ["key"])
    session.execute(_LOCK_PLACE, {"place": key}).scalar_one()


# Only the parts of the JSON columns a judgement needs, extracted by the database: each
# report's whole conversation state decoded (its engine's state, every fact's words) was most
# of the read's cost in Python.
_CANDIDATE = (Case.id, Case.reference, Case.facts["location"].label("location"),
              Case.facts["risks"].label("risks"),
              Case.conversation_state[WORDS_KEY].label("words"),
              Case.conversation_state[SPLIT_KEY].label("split"),
              Case.last_inbound_at, Case.created_at, Case.incident_id, Case.status,
              Case.closed_at, Case.decision, Case.queue, Case.priority)


@dataclass
class Scene:
    """What one read after the place's lock tells a report: the reports there within the
    window, every case of their incidents (loaded, so that linking needs no second read), and
    which of those reports has a "maybe the same" open with the new one."""

    reports: list[Report]
    members: dict[int, list[Any]]  # incident id -> its cases (id, reference, decision, ...)
    proposed: set[int]  # reports with an open proposal either way round


def _found() -> Subquery:
    """The reports at the place within the window, then the other cases of their incidents."""
    exclude = bindparam("exclude")
    near = (select(Case.id, Case.incident_id)
            .where(Case.place_key == bindparam("place"), Case.id != exclude,
                   Case.last_inbound_at >= bindparam("since"),
                   Case.last_inbound_at <= bindparam("until"))
            .order_by(Case.last_inbound_at.desc()).limit(bindparam("limit")).cte("near"))
    proposal = (select(IncidentProposal.id).where(
        IncidentProposal.state == "open",
        or_(and_(IncidentProposal.case_id == exclude, IncidentProposal.other_case_id == Case.id),
            and_(IncidentProposal.case_id == Case.id,
                 IncidentProposal.other_case_id == exclude))).exists())
    return union_all(
        select(*_CANDIDATE, literal(True).label("near"), proposal.label("proposed"))
        .join(near, near.c.id == Case.id),
        select(*_CANDIDATE, literal(False).label("near"), literal(False).label("proposed"))
        .where(Case.incident_id.in_(select(near.c.incident_id)),
               Case.id.not_in(select(near.c.id)), Case.id != exclude)).subquery("found")


# Both built once: making a statement (a CTE, a union, a subquery's columns) costs more Python
# than running it.
def _with_incidents(found: Subquery) -> tuple[Subquery, Any]:
    """`found` numbered within each incident, and the join of each incident's row to its first
    case only: the incident's columns come once, not once a case (a crowd's twenty)."""
    ranked = select(found, func.row_number().over(partition_by=found.c.incident_id,
                                                  order_by=found.c.id).label("nth")
                    ).subquery("ranked")
    return ranked, and_(Incident.id == ranked.c.incident_id, ranked.c.nth == 1)


@cache
def _scene_statement() -> Select[Any]:
    ranked, first = _with_incidents(_found())
    return select(ranked, Incident).outerjoin(Incident, first)


@cache
def _locked_scene_statement() -> Select[Any]:
    """PostgreSQL: the place's row locked (its count moved on) and the scene read, in one
    statement; with the count as this statement's snapshot saw it, and as locked."""
    locked = _LOCK_PLACE.cte("locked")
    seen = (select(IncidentPlace.matches).where(IncidentPlace.key == bindparam("place"))
            .scalar_subquery())
    ranked, first = _with_incidents(_found())
    return (select(locked.c.matches.label("locked_matches"), seen.label("read_matches"),
                   ranked, Incident)
            .select_from(locked).outerjoin(ranked, true()).outerjoin(Incident, first))


def locked_scene(session: Session, key: str, now: datetime, window: timedelta,
                 exclude: int) -> Scene:
    """The place's row locked, then its scene read: in one statement on PostgreSQL where it
    can be, else in two.

    Under READ COMMITTED a statement sees what was committed when it began. A statement that
    locks and reads at once may have waited for the lock while another match there committed
    a report it cannot see. Every match moves the place's count on under the lock, so the
    count this statement read and the one it locked tell: one apart, nothing came between;
    more, the read is made again now that the lock is held. A first report at a place (no
    row to lock yet), and SQLite (one writer at a time), lock and read in two statements."""
    params = {"place": key, "since": now - window, "until": now + window, "exclude": exclude,
              "limit": CANDIDATES}
    rows = None
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(_locked_scene_statement(), params).all()
        if rows and rows[0].locked_matches == rows[0].read_matches + 1:
            return _scene_of([r for r in rows if r.id is not None], now, window)
        if rows:  # locked, but after a wait: read again, incidents as now committed
            return scene(session, key, now, window, exclude, fresh=True)
    lock_place(session, key, now, missing=rows is not None)  # no row yet: made, then locked
    return scene(session, key, now, window, exclude)


def scene(session: Session, key: str, now: datetime, window: timedelta, exclude: int, *,
          fresh: bool = False) -> Scene:
    """One statement: the reports at one place within the window (open or closed within it;
    one range of ix_cases_place_last_inbound, read as columns, never as ORM cases), each
    with its open proposals with the new report, unioned with the other cases of their
    incidents; and those incidents, loaded into the session (`fresh`: over what an earlier
    read loaded). Under the place's lock (locked_scene())."""
    stmt = _scene_statement()
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    rows = session.execute(stmt, {
        "place": key, "since": now - window, "until": now + window, "exclude": exclude,
        "limit": CANDIDATES}).all()
    return _scene_of(rows, now, window)


def _scene_of(rows: list[Any], now: datetime, window: timedelta) -> Scene:
    reports: list[Report] = []
    members: dict[int, list[Any]] = defaultdict(list)
    proposed: set[int] = set()
    # Newest first, as the reports were looked at before; an incident's other cases, which
    # need not have a text in the window, by id.
    for r in sorted(rows, key=lambda r: (r.near, r.last_inbound_at or r.created_at),
                    reverse=True):
        if r.incident_id is not None:
            members[r.incident_id].append(r)
        if r.proposed:
            proposed.add(r.id)
        if r.near and (r.status == "open" or (r.closed_at and r.closed_at >= now - window)):
            reports.append(Report(
                case_id=r.id, reference=r.reference or f"#{r.id}",
                place=place_of({"location": r.location}),
                indicators=indicators_of({"risks": r.risks}), words=frozenset(r.words or ()),
                at=r.last_inbound_at or r.created_at, incident_id=r.incident_id,
                held=bool(r.split)))
    for group in members.values():
        group.sort(key=lambda r: r.id)
    return Scene(reports, dict(members), proposed)
