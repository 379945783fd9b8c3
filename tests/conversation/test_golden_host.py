"""Golden transcripts through the whole host path: the inbox, the processor, receive(), the
engine and the dispatcher together, on a migrated database, on SQLite and PostgreSQL.

Each file in golden_host/ is a script for one texter. The lines a person writes are the inputs:
    # ...                   a comment (kept)
    > text                  the texter sends `text` (the clock moves on one minute first): it is
                            put in the inbox by the webhook's own writer and read by the processor
    ~ 30                    the clock moves on 30 minutes
    ! retry                 Twilio sends the last text again, with the same MessageSid
    ! sweep                 the silence sweeper runs (TEXTLINE_SILENCE_MINUTES, 10 by default)
    ! claim amy             operator amy claims the case
    ! reply amy: text       operator amy texts the texter
    ! close amy: outcome    operator amy closes the case
    ! close amy tell: outcome
                            and texts the texter the outcome text of that name (outcomes.yaml)
    ! override amy 101 general P3: reason
                            amy's own decision (queue, then an optional priority), as
                            app/cases/actions.override_decision takes it
The people: amy and ben are operators, sue is a supervisor.

Everything else is output, written by the test from the database:
    < text                  a bot text queued for the texter (an outbound message with its outbox row)
    = decision ...          the case's decision changed: decision, priority, rule, queue, who
                            decided, and the reasons
    = stage ...             the case's stage changed (collecting, awaiting_operator, ...)
    = new case TL-...       the texter's text opened a new case
    = refused: ...          the service refused a host action, with its message
and after "--- end" the case as it stands: its status, stage, decision, the texts counted, and
the conversation's state and facts.

    UPDATE_GOLDEN=1 pytest tests/conversation/test_golden_host.py

rewrites the outputs (the same flag as the engine's transcripts); review the diff as a script.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.auth.service import Principal, create_user
from app.cases import actions
from app.cases.conversation import load_state
from app.cases.sweeper import sweep_silence
from app.inbox.inbound import Inbound
from app.inbox.reader import process_pending
from app.kit.db import unit_of_work
from app.kit.errors import AppError
from app.kit.runtime import Runtime
from app.models import Case, Inbox, Message, Outbox, Reporter
from app.startup.bootstrap import build_runtime
from tests.conversation.golden_format import END, check_or_update, inputs, state_lines

GOLDEN = Path(__file__).with_name("golden_host")
FILES = sorted(GOLDEN.glob("*.txt"))
START = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
PHONE = "+447700900123"
SHORT_CODE = "61016"
PEOPLE = {"amy": "operator", "ben": "operator", "sue": "supervisor"}


@pytest.fixture
def runtime(settings) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    rt = build_runtime(settings)
    try:
        yield rt
    finally:
        rt.engine.dispose()
        if rt.read_sessions is not None and rt.read_sessions.kw.get("bind") is not None:
            rt.read_sessions.kw["bind"].dispose()


@dataclass
class Host:
    """One texter's conversation with the service, and what the transcript has shown so far."""

    rt: Runtime
    loop: asyncio.AbstractEventLoop
    now: datetime = START
    sent: int = 0
    last: Inbound | None = None
    seen_message: int = 0
    case_id: int | None = None
    shown: dict[str, object] = field(default_factory=dict)
    people: dict[str, Principal] = field(default_factory=dict)

    # ---- the texter

    def text(self, body: str) -> None:
        self.now += timedelta(minutes=1)
        self.sent += 1
        self.last = Inbound(f"SM{self.sent:032d}", PHONE, SHORT_CODE, body)
        self._deliver(self.last)

    def retry(self) -> None:
        assert self.last is not None, "! retry needs a text before it"
        self._deliver(self.last)

    def _deliver(self, msg: Inbound) -> None:
        # The webhook's own writer stores it, as at the text's arrival; the processor reads it.
        self.loop.run_until_complete(self.rt.inbox.accept(msg, self.now))
        process_pending(self.rt)
        with self.rt.sessions() as session:
            left = session.execute(select(func.count()).select_from(Inbox)).scalar_one()
        assert left == 0, "the processor left a text unread"

    # ---- the host

    def person(self, name: str) -> Principal:
        if name not in self.people:
            role = PEOPLE[name]
            with unit_of_work(self.rt.sessions) as session:
                user = create_user(session, name, role, "correct-horse-battery-staple",
                                   actor="test")
                self.people[name] = Principal(user.id, name, role, "session")
        return self.people[name]

    def act(self, line: str) -> list[str]:
        action, _, rest = line.partition(" ")
        if action == "retry":
            self.retry()
            return []
        if action == "sweep":
            sweep_silence(self.rt, now=self.now)
            return []
        head, _, words = rest.partition(":")
        name, *args = head.split()
        who = self.person(name)
        assert self.case_id is not None, f"! {action} needs a case"
        try:
            with unit_of_work(self.rt.sessions) as session:
                if action == "claim":
                    actions.claim(session, self.rt, self.case_id, who, now=self.now)
                elif action == "reply":
                    actions.reply(session, self.rt, self.case_id, who, words.strip(), now=self.now)
                elif action == "close":
                    actions.close(session, self.case_id, who, words.strip(), now=self.now,
                                  notify_reporter="tell" in args)
                elif action == "override":
                    decision, queue, *priority = args
                    actions.override_decision(session, self.rt, self.case_id, who, decision,
                                              queue, words.strip(),
                                              priority=priority[0] if priority else None,
                                              now=self.now)
                else:
                    raise ValueError(f"unknown host action {action!r}")
        except AppError as exc:
            return [f"= refused: {exc.message}"]
        return []

    # ---- what the database now holds

    def outputs(self) -> list[str]:
        out: list[str] = []
        with self.rt.sessions() as session:
            reporter_id = session.execute(
                select(Reporter.id).where(Reporter.phone == PHONE)).scalar_one_or_none()
            if reporter_id is None:
                return out
            case = session.execute(
                select(Case).where(Case.reporter_id == reporter_id).order_by(Case.id.desc())
                .limit(1)).scalar_one()
            if case.id != self.case_id:
                if self.case_id is not None:
                    out.append(f"= new case {case.reference}")
                self.case_id, self.shown = case.id, {}
            rows = session.execute(
                select(Message, Outbox.id).outerjoin(Outbox, Outbox.message_id == Message.id)
                .where(Message.case_id == case.id, Message.direction == "outbound",
                       Message.id > self.seen_message).order_by(Message.id)).all()
            for message, outbox_id in rows:
                self.seen_message = max(self.seen_message, message.id)
                assert outbox_id is not None, f"outbound text {message.id} has no outbox row"
                if message.author == "bot":
                    out.append(f"< {message.body}")
            decision = decision_line(case)
            if decision != self.shown.get("decision"):
                out.append(f"= {decision}" + reasons(case, " | "))
                self.shown["decision"] = decision
            if case.stage != self.shown.get("stage"):
                out.append(f"= stage {case.stage}")
                self.shown["stage"] = case.stage
        return out

    def summary(self) -> list[str]:
        with self.rt.sessions() as session:
            case = session.get(Case, self.case_id)
            assert case is not None
            reporter = session.get(Reporter, case.reporter_id)
            counts = dict(session.execute(
                select(Message.author, func.count()).where(Message.case_id == case.id)
                .group_by(Message.author)).all())
            inbound = counts.pop("reporter", 0)
            bot = counts.pop("bot", 0)
            by_people = sum(n for author, n in counts.items() if author.startswith("operator:"))
            return [
                END,
                f"case: {case.reference} status={case.status} stage={case.stage}"
                + (f" outcome={case.outcome!r}" if case.outcome else ""),
                decision_line(case),
                f"reasons: {'; '.join(case.decision_reasons or ()) or '-'}",
                f"texts: {inbound} in, {bot} from the bot, {by_people} from operators",
                f"texter: opted_out={'yes' if reporter and reporter.opted_out else 'no'} "
                f"discreet={'yes' if case.discreet else 'no'}",
                *state_lines(load_state(case)),
            ]


def decision_line(case: Case) -> str:
    if not case.decision:
        return "decision -"
    return (f"decision {case.decision} {case.priority} rule={case.decision_rule} "
            f"queue={case.queue} by={case.decision_by}")


def reasons(case: Case, lead: str) -> str:
    return f"{lead}{'; '.join(case.decision_reasons)}" if case.decision_reasons else ""


def play(rt: Runtime, script: list[str]) -> str:
    loop = asyncio.new_event_loop()
    host = Host(rt, loop)
    out: list[str] = []
    try:
        for line in script:
            out.append(line)
            if line.startswith("#"):
                continue
            mark, arg = line[0], line[2:]
            if mark == "~":
                host.now += timedelta(minutes=float(arg))
                continue
            if mark == ">":
                host.text(arg)
            else:
                out.extend(host.act(arg))
            out.extend(host.outputs())
        out.extend(host.summary())
    finally:
        loop.run_until_complete(rt.inbox.aclose())
        loop.close()
    return "\n".join(out) + "\n"


def test_there_are_enough_transcripts() -> None:
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_golden_host(runtime: Runtime, path: Path) -> None:
    actual = play(runtime, inputs(path.read_text(encoding="utf-8")))
    check_or_update(path, actual)
