"""The supervisor's figures: per local day and per queue, from three bounded queries.

Texts are counted in SQL by UTC hour (both backends can bucket by hour; neither agrees on time
zones), then the hours are folded into the control room's local days here, which keeps days right
across clock changes for any zone whose offset is whole hours. Response times need every case's
value for a percentile, so the cases in the range are read as five narrow columns over the
created_at index; a range is capped at MAX_DAYS, which bounds that read.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.dashboard.queue import NO_QUEUE, waiting_since_column
from app.models import Case, Message

MAX_DAYS = 92
ALL = "all"
TO_THE_SECOND = 600  # below ten minutes a reply time is shown to the second


def reply_span(seconds: float) -> str:
    """A reply or waiting time for the figures: '45 s' and '1 min 58 s' below ten minutes, where
    a supervisor compares times a minute apart; then '12 min', '2 h 05', '3 d'. Rounded to the
    nearest unit shown, never floored: 118 s is '1 min 58 s', 719.6 s is '12 min'."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < TO_THE_SECOND:
        return f"{s // 60} min {s % 60} s"
    m = round(s / 60)
    if m < 60:
        return f"{m} min"
    if m < 24 * 60:
        return f"{m // 60} h {m % 60:02d}"
    return f"{round(m / (24 * 60))} d"


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True)
class Spread:
    """Seconds from a case's first text to a reply: median and 90th percentile."""

    p50: float | None
    p90: float | None
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        return cls(percentile(values, 50), percentile(values, 90), len(values))


@dataclass
class Bucket:
    texts: int = 0
    cases: int = 0
    flags_999: int = 0
    bot: list[float] = field(default_factory=list)
    human: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    day: date | None  # None: the whole range
    queue: str
    texts: int
    cases: int
    flags_999: int
    bot: Spread
    human: Spread


@dataclass(frozen=True)
class Waiting:
    queue: str
    cases: int
    longest_seconds: float


@dataclass(frozen=True)
class LanguageRow:
    language: str  # BCP 47, or "-" where no text in words has told it
    cases: int  # cases held in this language (the conversation's)
    flags_999: int
    texts: int  # inbound texts detected in this language (each text's own)


@dataclass(frozen=True)
class Figures:
    first_day: date
    last_day: date
    days: list[date]
    by_day: list[Row]  # every day, all queues together
    by_day_queue: list[Row]  # only the (day, queue) pairs with something in them
    by_queue: list[Row]  # the whole range, per queue
    total: Row
    waiting: list[Waiting]
    queues: list[str]
    by_language: list[LanguageRow] = field(default_factory=list)


def day_bounds(first: date, last: date, tz: Any) -> tuple[datetime, datetime]:
    return (datetime.combine(first, time(), tz).astimezone(UTC),
            datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC))


def _hour(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.to_char(func.date_trunc("hour", func.timezone("UTC", column)),
                            "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", column)


def _local_day(bucket: str, tz: Any) -> date:
    return datetime.strptime(bucket, "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(tz).date()


def _seconds(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else max(0.0, (later - earlier).total_seconds())


def collect(session: Session, first: date, last: date, tz: Any, now: datetime) -> Figures:
    start, end = day_bounds(first, last, tz)
    dialect = session.get_bind().dialect.name
    queue = func.coalesce(Case.queue, NO_QUEUE)
    buckets: dict[tuple[date, str], Bucket] = defaultdict(Bucket)

    hour = _hour(Message.created_at, dialect)
    for bucket, q, count in session.execute(
        select(hour, queue, func.count(Message.id))
        .join(Case, Case.id == Message.case_id)
        .where(Message.direction == "inbound", Message.created_at >= start,
               Message.created_at < end)
        .group_by(hour, queue)
    ):
        buckets[(_local_day(bucket, tz), q)].texts += count

    for created, q, decision, bot_at, human_at in session.execute(
        select(Case.created_at, queue, Case.decision, Case.first_bot_reply_at,
               Case.first_response_at)
        .where(Case.created_at >= start, Case.created_at < end)
    ):
        b = buckets[(created.astimezone(tz).date(), q)]
        b.cases += 1
        b.flags_999 += decision == "999"
        if (s := _seconds(bot_at, created)) is not None:
            b.bot.append(s)
        if (s := _seconds(human_at, created)) is not None:
            b.human.append(s)

    waiting_since = waiting_since_column().label("waiting_since")
    open_waiting = (select(queue.label("queue"), waiting_since)
                    .where(Case.status == "open").subquery())
    waiting = [
        Waiting(q, count, _seconds(now, oldest) or 0.0)
        for q, count, oldest in session.execute(
            select(open_waiting.c.queue, func.count(), func.min(open_waiting.c.waiting_since))
            .where(open_waiting.c.waiting_since.is_not(None))
            .group_by(open_waiting.c.queue).order_by(open_waiting.c.queue)
        )
    ]
    figs = _fold(first, last, buckets, waiting)
    return replace(figs, by_language=_languages(session, start, end))


def _languages(session: Session, start: datetime, end: datetime) -> list[LanguageRow]:
    """Cases by their conversation's language, texts by their own, over the range."""
    unknown = "-"
    cases: dict[str, tuple[int, int]] = {}
    for language, count, flags in session.execute(
        select(Case.language, func.count(Case.id),
               func.sum(case((Case.decision == "999", 1), else_=0)))
        .where(Case.created_at >= start, Case.created_at < end).group_by(Case.language)
    ):
        cases[language or unknown] = (count, int(flags or 0))
    texts: dict[str, int] = {}
    for language, count in session.execute(
        select(Message.language, func.count(Message.id))
        .where(Message.direction == "inbound", Message.created_at >= start,
               Message.created_at < end).group_by(Message.language)
    ):
        texts[language or unknown] = count
    return [LanguageRow(lang, *cases.get(lang, (0, 0)), texts.get(lang, 0))
            for lang in sorted(set(cases) | set(texts), key=lambda k: (k == unknown, k))]


def _row(day: date | None, q: str, parts: Iterable[Bucket]) -> Row:
    parts = list(parts)
    return Row(day, q, sum(p.texts for p in parts), sum(p.cases for p in parts),
               sum(p.flags_999 for p in parts),
               Spread.of([v for p in parts for v in p.bot]),
               Spread.of([v for p in parts for v in p.human]))


def _fold(first: date, last: date, buckets: dict[tuple[date, str], Bucket],
          waiting: list[Waiting]) -> Figures:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    queues = sorted({q for _, q in buckets} | {w.queue for w in waiting})
    in_range = {k: v for k, v in buckets.items() if first <= k[0] <= last}
    by_day = [_row(d, ALL, (v for (day, _), v in in_range.items() if day == d)) for d in days]
    by_day_queue = [_row(d, q, [in_range[(d, q)]]) for d in days for q in queues
                    if (d, q) in in_range]
    by_queue = [_row(None, q, (v for (_, qq), v in in_range.items() if qq == q)) for q in queues]
    total = _row(None, ALL, in_range.values())
    return Figures(first, last, days, by_day, by_day_queue, by_queue, total, waiting, queues)
