"""The host side of the pure parts: load a case's state, step the engine, decide, store it all.

`cases.conversation_state` holds {"engine": State.to_dict(), "dispatch": the dispatcher's own
latest Decision, and the risks known when a person last decided}. Keeping the dispatcher's own
verdict apart from the decision in force lets a person's override stand: the dispatcher acts
again only with a decision stronger than the person's, and only when it rests on something they
did not weigh (a risk named since, or a verdict stronger than the dispatcher had before), never
to undo the person on facts they already saw.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.audit.service import record
from app.audit.textless import facts_summary, textless_decision
from app.cases.decision_history import record_decision
from app.cases.integration import tell_integration
from app.cases.service import Incoming, add_bot_reply
from app.conversation.engine import Engine, Step
from app.conversation.state import DONE, State
from app.dispatch.decide import Decision, DispatchFacts, decide, escalation_only
from app.dispatch.rules import Rules
from app.incidents.service import match_report
from app.kit.config import Settings
from app.kit.metrics import DECISIONS
from app.models import Case, Reporter


def send_bot_text(session: Session, case: Case, reporter: Reporter, body: str,
                  now: datetime) -> int:
    """A bot text: through the outbox, like an operator's; its message's id."""
    return add_bot_reply(session, case, reporter, body, now)


SEEN_BY_PERSON = "seen_by_person"  # conversation_state key: risks known at a person's decision


def _risk_kinds(state: State) -> list[str]:
    return sorted({risk.indicator for risk in state.facts.risks})


_STRENGTH = {("999", "P1"): 3, ("101", "P2"): 2, ("101", "P3"): 1}


def strength(d: Decision | None) -> int:
    return 0 if d is None else _STRENGTH.get((d.decision, d.priority), 0)


def load_state(case: Case) -> State:
    stored = (case.conversation_state or {}).get("engine")
    return State.from_dict(stored) if stored else State.initial(case.reference or "")


def _stage(case: Case, state: State) -> str:
    if case.status == "closed":
        return "closed"
    if case.assigned_to_id is not None or state.operator_engaged:
        return "with_operator"
    return "awaiting_operator" if state.conversation == DONE else "collecting"


class ConversationIntake:
    """Runs the engine and the dispatcher on each inbound text, in the caller's transaction."""

    def __init__(self, engine: Engine, rules: Rules, settings: Settings) -> None:
        self.engine, self.rules, self.settings = engine, rules, settings

    # ---- the seam receive() calls

    def on_inbound(self, session: Session, case: Case, reporter: Reporter, message: Incoming,
                   now: datetime, *, opened: bool, reopened: bool) -> list[str]:
        """One pass: the engine hears the text, the dispatcher decides on what it heard, and
        the engine answers once, leading with "call 999 now" when that decision is a new 999."""
        state = load_state(case)
        events: list[str] = []
        if reopened:
            step = self.engine.reopen(state, now)
            state, events = step.state, list(step.events)
        if reporter.opted_out and not state.opted_out:
            state = state.with_(opted_out=True)  # opted out on an earlier case: still no texts
        if state.language is None and reporter.language:
            # A new case from a number we know: their language until they write otherwise.
            state = state.with_(language=reporter.language, language_last=reporter.language)
        heard = self.engine.hear(state, message.body, now)
        message.language = heard.language
        new = self._decide(heard.state, now)
        escalate = self._to_record(case, self._dispatcher_decision(case), new,
                                   _risk_kinds(heard.state))
        step = self.engine.answer(heard, emergency=escalate is not None
                                  and escalate.decision == "999")
        self._store(session, case, reporter, step, events, now)
        self._dispatched(session, case, new, escalate, now)
        match_report(session, self.settings, case, message.body, now,
                     decided=escalate is not None)
        return list(step.replies)

    def only_thanks(self, text: str) -> bool:
        """A thank-you and nothing more: it does not reopen a closed case (app/cases/service.py)."""
        return self.engine.only_thanks(text)

    # ---- other moments the host tells the engine about

    def operator_engaged(self, session: Session, case: Case, now: datetime) -> None:
        step = self.engine.operator_engaged(load_state(case))
        self._store(session, case, None, step, [], now)

    def person_decided(self, session: Session, case: Case, reporter: Reporter,
                       decision: Decision, now: datetime) -> None:
        """A person's decision: tell the integration; a new 999 gets its advice texted now.

        The risks known when they decided are kept: a risk named after it is a fact they did
        not weigh, and brings the dispatcher back (_to_record)."""
        case.conversation_state = {**(case.conversation_state or {}),
                                   SEEN_BY_PERSON: _risk_kinds(load_state(case))}
        tell_integration(session, self.settings, case, decision)
        if decision.decision != "999":
            return
        step = self.engine.flag_emergency(load_state(case))
        self._store(session, case, reporter, step, [], now)
        for body in step.replies:
            send_bot_text(session, case, reporter, body, now)

    def silence(self, session: Session, case: Case, now: datetime, minutes: float) -> bool:
        step = self.engine.silence(load_state(case), now, minutes)
        if "silence_timeout" not in step.events:
            return False
        self._store(session, case, None, step, [], now)
        return True

    # ----

    def _decide(self, state: State, now: datetime) -> Decision:
        facts = DispatchFacts.from_facts(state.facts, discreet=state.discreet,
                                         local_time=now.astimezone(self.settings.tz).time(),
                                         language=state.language)
        return decide(facts, self.rules)

    @staticmethod
    def _dispatcher_decision(case: Case) -> Decision | None:
        stored = (case.conversation_state or {}).get("dispatch")
        return Decision.from_dict(stored) if stored else None

    @staticmethod
    def _current(case: Case) -> Decision | None:
        if not case.decision:
            return None
        return Decision(case.decision, case.queue or "", case.priority or "P3",
                        case.decision_rule or "", tuple(case.decision_reasons or ()))

    def _to_record(self, case: Case, previous_auto: Decision | None, new: Decision,
                   risks: list[str]) -> Decision | None:
        if (case.decision_by or "").startswith("operator:"):
            # A person decided: the dispatcher comes back only with a decision stronger than
            # theirs, and only on something they did not weigh: stronger than what the
            # dispatcher had said before, or a risk named since they decided.
            seen = (case.conversation_state or {}).get(SEEN_BY_PERSON)
            unseen = seen is not None and bool(set(risks) - set(seen))
            if strength(new) > strength(self._current(case)) and (
                    unseen or strength(new) > strength(previous_auto)):
                return new
            return None
        return escalation_only(self._current(case), new)

    def _store(self, session: Session, case: Case, reporter: Reporter | None, step: Step,
               extra_events: list[str], now: datetime) -> None:
        state = step.state
        engine = state.to_dict()
        case.conversation_state = {**(case.conversation_state or {}), "engine": engine}
        # The facts in their stored shape (to_dict() is its own JSON round trip): equal when
        # nothing changed, so a text that adds no fact neither rewrites the column nor audits
        # a change.
        facts = engine["facts"]
        facts_changed = facts != case.facts
        if facts_changed:
            case.facts = facts
        case.conversation = state.conversation
        case.discreet = state.discreet
        loc = state.facts.location
        case.station_crs = loc.station.crs if loc and loc.station else None
        case.stage = _stage(case, state)
        case.updated_at = now
        case.language = state.language
        if reporter is not None and state.language and reporter.language != state.language:
            reporter.language = state.language
        if reporter is not None and reporter.opted_out != state.opted_out:
            reporter.opted_out = state.opted_out
            record(session, "reporter", "reporter.opted_out" if state.opted_out
                   else "reporter.opted_in", case_id=case.id)
        events = extra_events + list(step.events)
        if events:
            record(session, "bot", "conversation.step", case_id=case.id,
                   data={"events": events, "conversation": state.conversation})
        if facts_changed:
            # A summary, never the texter's words: the chained audit outlives retention.
            record(session, "bot", "facts.changed", case_id=case.id,
                   data={"facts": facts_summary(case.facts)})

    def _dispatched(self, session: Session, case: Case, new: Decision,
                    escalate: Decision | None, now: datetime) -> None:
        case.conversation_state = {**case.conversation_state, "dispatch": new.to_dict()}
        if escalate is None:
            return
        previous = case.decision
        case.decision, case.queue, case.priority = escalate.decision, escalate.queue, escalate.priority
        case.decision_by, case.decision_rule = "dispatcher", escalate.rule
        case.decision_reasons, case.decision_at = list(escalate.reasons), now
        record_decision(session, case)
        DECISIONS.labels(rule=escalate.rule or "", queue=escalate.queue or "",
                         decision=escalate.decision).inc()
        record(session, "dispatcher", "decision.made", case_id=case.id,
               data={**textless_decision(escalate.to_dict()), "previous": previous})
        tell_integration(session, self.settings, case, escalate)
