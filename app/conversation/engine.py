"""The intake conversation engine: pure functions from (state, input) to (state, replies, events).

The host (the case service) stores the state as JSON, sends the replies, and writes the events
to the audit log. Nothing here reads a clock, a database or the environment: time comes in.

Order of work for one text: read it with every extractor, merge what was found into the facts,
classify the text into one input kind, run the handler the transition table names for
(conversation, kind), then compose the texts (replies.py).

Decisions a host should know:
- A 999 decision: on a text, the host decides between hear() and answer(emergency=True), so the
  reply to that very text leads with the advice to call 999 now; a person's decision between
  texts goes through flag_emergency(). When the bot has stopped asking (conversation "done"),
  the advice goes out alone. Flagging again is harmless. It is given even if the severe-risk
  advice was given.
- A severe risk (weapon, violence, sexual, abduction, self-harm) puts "call 999 if you safely
  can" first in the next reply, once per case; in the first reply it is part of the greeting.
- Discreet is for good: no text at all afterwards, not even a STOP or HELP answer; the facts
  are still read. Only an operator, seeing the banner, decides to text.
- Opted out: one confirmation, then nothing until START, which confirms and asks again what is
  still missing (unless an operator has the case).
- Silence (silence()): the bot stops asking without a text. A text after that is read as the
  answer to the question last put, and the bot carries on asking what is missing.
- Reopen (reopen()): no text by itself; the reply to the text that follows says the report was
  reopened, and the bot asks what is still missing.
- The host passes timezone-aware datetimes; the state keeps ISO 8601 strings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from app.conversation import welsh
from app.conversation.facts import Age, Concept, Facts, ImmediacyFact, Location, Risk
from app.conversation.language import WELSH, Detect, Languages, switch_to, text_language
from app.conversation.merge import Found, merge, merge_risks
from app.conversation.replies import compose
from app.conversation.state import (
    ASKING_AGE,
    ASKING_IMMEDIACY,
    ASKING_LOCATION,
    CONFIRMING_LOCATION,
    DONE,
    FACT_OF,
    State,
    missing,
    names_concern,
    next_question,
)
from app.conversation.transitions import Outcome, Turn, handler, offered
from app.conversation.welsh_intents import welsh_intents, yes_or_no
from app.conversation.wording import Wording, load_wording
from app.gazetteer.model import StationRef

# Words in a text that make it an account of what is happening: "what is happening?" is asked
# only after a shorter first text that names no concern ("something isn't right here").
ACCOUNT_WORDS = 10


@dataclass(frozen=True)
class Step:
    state: State
    replies: tuple[str, ...] = ()
    facts_changed: bool = False
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class Heard:
    """A text read and its turn taken, before anything is said (Engine.hear)."""

    before: State
    outcome: Outcome
    resumed: tuple[str, ...]
    language: str | None = None  # the text's own language; None when not in words

    @property
    def state(self) -> State:
        return self.outcome.state


@dataclass(frozen=True)
class Readers:
    """The extractors the engine runs; tests may pass their own."""

    extract_location: Callable[..., Location | None]
    resolve_choice: Callable[[str, tuple[StationRef, ...], Any], StationRef | None]
    extract_age: Callable[..., Age | None]
    extract_immediacy: Callable[..., ImmediacyFact | None]
    extract_risks: Callable[[str], tuple[Risk, ...]]
    detect_intents: Callable[[str], frozenset[str]]
    # The concepts of one text, and the indicators whose rules read across all the texts.
    read_concepts: Callable[[str], tuple[Concept, ...]] = lambda text: ()
    conversation_risks: Callable[[tuple[Concept, ...], bool | None], tuple[Risk, ...]] = (
        lambda concepts, child: ()
    )
    # The learned second reader: whether one text reads as an emergency.
    read_account: Callable[[str], tuple[Concept, ...]] = lambda text: ()

    @classmethod
    def default(cls) -> Readers:
        from app.conversation.extract.age import extract_age
        from app.conversation.extract.concepts import conversation_risks, read
        from app.conversation.extract.immediacy import extract_immediacy
        from app.conversation.extract.intent import detect_intents
        from app.conversation.extract.location import extract_location, resolve_choice
        from app.conversation.extract.reader import read_account
        from app.conversation.extract.risk import extract_risks

        return cls(
            extract_location,
            resolve_choice,
            extract_age,
            extract_immediacy,
            extract_risks,
            detect_intents,
            lambda text: read(text).concepts,
            conversation_risks,
            read_account,
        )


def classify(
    state: State, before: State, intents: frozenset[str], choice: StationRef | None
) -> str:
    """The input kind of one text; `state` already holds the text's facts, `before` does not."""
    if "stop" in intents:
        return "stop"
    if "language" in intents:
        return "language"
    if "start" in intents and state.opted_out:
        return "start"  # otherwise a YES is simply an answer
    if "discreet" in intents:
        return "discreet"
    if "help" in intents:
        return "help"
    conversation = state.conversation
    if conversation == DONE:
        return "answer" if state.facts != before.facts else "unreadable"
    if conversation == CONFIRMING_LOCATION and choice is not None:
        return "choice"
    if conversation not in missing(state.facts, state.closed):
        return "answer"
    if "dont_know" in intents and state.asks > 0:  # only once the question has been put
        return "dont_know"
    return "unreadable"


def _asked_for(state: State, question: str) -> bool | None:
    """Did the bot just ask for this (True), for something else (False), or nothing (None)?"""
    if state.conversation == DONE or state.asks == 0:
        return None
    return state.conversation == question


def _only_thanks(found: Found) -> bool:
    names = {c.name for c in found.concepts}
    return "thanks_only" in names and "concern" not in names and not found.risks


def _is_bare_number(text: str) -> bool:
    return text.strip().rstrip(".").isdigit()


DISCREET_NOW = "cannot talk freely"


class Engine:
    def __init__(
        self, gazetteer: Any, wording: Wording | None = None, *, readers: Readers | None = None,
        detect: Detect | None = None,
    ) -> None:
        self.gazetteer = gazetteer
        self.wording = wording if wording is not None else load_wording(None)
        self.readers = readers if readers is not None else Readers.default()
        # Without a detector (unit tests of the English engine) every text is unmarked.
        self.detect = detect

    # ---- one inbound text

    def step(self, state: State, text: str, now: datetime) -> Step:
        """One text read and answered, with no 999 decided on it (the host's answer() can)."""
        return self.answer(self.hear(state, text, now))

    def hear(self, state: State, text: str, now: datetime) -> Heard:
        """One text read and its turn taken, nothing said yet: the host decides on heard.state
        (app/cases/conversation.py), then answer() composes the reply once, knowing whether
        that decision was 999."""
        before = state
        if not state.can_ask and state.conversation != DONE:
            # flags set from outside (a reporter who opted out on an earlier case)
            state = state.with_(conversation=DONE, choices=())
        state, resumed = self._resume(state)
        language = text_language(text, self.detect) if self.detect is not None else None
        spoken = Languages(state.language, state.language_last).after(text, language)
        state = state.with_(language=spoken.conversation, language_last=spoken.last)
        in_welsh = language == WELSH or (language is None and state.language == WELSH)
        found, choice = self._read(state, text, in_welsh)
        if (state.conversation == DONE or state.reopen_due) and _only_thanks(found):
            # "Thanks, the police are here now", unasked or on a closed case: nothing new to
            # act on, and its "now" is not the incident happening again (the case it reopens
            # keeps its decision). As the answer to a question it is read like any other.
            found = Found()
        intents = frozenset(self.readers.detect_intents(text)) | welsh_intents(text, in_welsh)
        if switch_to(text) is not None:
            intents |= {"language"}
        facts = merge(state.facts, found, FACT_OF.get(state.conversation))
        merged = state.with_(facts=self._across(facts, discreet=state.discreet or "discreet" in intents))
        if (
            "what" not in merged.closed
            and not names_concern(merged.facts)
            and len(text.split()) > ACCOUNT_WORDS
            and not (len(text.split()) <= 2 * ACCOUNT_WORDS
                     and any(c.name == "preamble" for c in found.concepts))
        ):
            # A text this long tells what is happening, whether or not a risk was named in it,
            # unless it is about the texting itself ("not sure this is the right number").
            merged = merged.with_(closed=merged.closed + ("what",))
        if state.conversation == ASKING_AGE and merged.facts.age not in (None, state.facts.age):
            # An age given in answer settles the question, however wide ("a teen, 16 to 19").
            merged = merged.with_(closed=merged.closed + ("age",))
        kind = classify(merged, state, intents, choice)
        other = merged.facts != state.facts
        outcome = handler(state.conversation, kind)(Turn(merged, text, now, choice, other))
        return Heard(before, outcome, resumed, language)

    def only_thanks(self, text: str) -> bool:
        """A text that only thanks or says help has come, naming no concern, risk or request
        (STOP, HELP, START, "can't talk"): nothing for anyone to act on. The host keeps such a
        text on a closed case without reopening it."""
        r = self.readers
        found = Found(risks=tuple(r.extract_risks(text)),
                      concepts=(*r.read_concepts(text), *r.read_account(text)))
        return _only_thanks(found) and not self.readers.detect_intents(text)

    def answer(self, heard: Heard, *, emergency: bool = False) -> Step:
        """The replies to a heard text; with emergency, dispatch decided 999 on it, and the
        advice to call 999 now leads them (or goes alone once the bot has stopped asking)."""
        outcome = heard.outcome
        if emergency:
            flagged = handler(outcome.state.conversation, "emergency")(Turn(outcome.state))
            outcome = Outcome(flagged.state, outcome.lines, outcome.events + flagged.events)
        return self._finish(heard.before, outcome, heard.resumed, speak=True)

    def _across(self, facts: Facts, *, discreet: bool) -> Facts:
        """What the texts say together: indicators whose concepts came in different texts, and
        a discreet texter with the person beside them, which is happening now."""
        child = facts.age.child if facts.age else None
        risks = merge_risks(facts.risks, self.readers.conversation_risks(facts.concepts, child))
        immediacy = facts.immediacy
        beside = next((c for c in facts.concepts if c.name == "presence"), None)
        if discreet and beside is not None and (immediacy is None or immediacy.value != "now"):
            immediacy = ImmediacyFact("now", beside.evidence)
        elif discreet and immediacy is None and risks:
            # Nobody will ask "is it happening now?", and a texter who cannot talk freely
            # about a danger is in the middle of it.
            immediacy = ImmediacyFact("now", DISCREET_NOW)
        if risks == facts.risks and immediacy == facts.immediacy:
            return facts
        return replace(facts, risks=risks, immediacy=immediacy)

    def _resume(self, state: State) -> tuple[State, tuple[str, ...]]:
        """A text after the silence timeout picks the conversation up where it stopped."""
        if not (state.timed_out and state.conversation == DONE and state.can_ask):
            return state, ()
        todo = missing(state.facts, state.closed)
        if state.last_asked in todo:
            resumed = state.with_(conversation=state.last_asked, timed_out=False)
        else:
            resumed = state.with_(timed_out=False, asks=0)
            resumed = resumed.with_(conversation=next_question(resumed))
        if resumed.conversation == CONFIRMING_LOCATION:
            resumed = resumed.with_(choices=offered(resumed))
        return resumed, ("resumed",)

    def _read(self, state: State, text: str, in_welsh: bool = False
              ) -> tuple[Found, StationRef | None]:
        # Welsh is read through an English gloss, evidence quoted back from the texter's Welsh;
        # an English text with Welsh words in it ("a cyllell") has those words put into English.
        answer = yes_or_no(text) if in_welsh else None
        if answer is not None:
            return self._read_english(state, answer)
        gloss = welsh.gloss(text) if in_welsh else welsh.loan_gloss(text)
        if gloss is None:
            return self._read_english(state, text)
        found, choice = self._read_english(state, gloss.text)
        return replace(
            found,
            location=welsh.requote_location(found.location, gloss),
            age=welsh.requote_age(found.age, gloss),
            immediacy=welsh.requote_immediacy(found.immediacy, gloss),
            risks=welsh.requote_risks(found.risks, gloss),
            concepts=welsh.requote_concepts(found.concepts, gloss),
        ), choice

    def _read_english(self, state: State, text: str) -> tuple[Found, StationRef | None]:
        r = self.readers
        choice = None
        if state.conversation == CONFIRMING_LOCATION:
            options = offered(state)
            if options:
                choice = r.resolve_choice(text, options, self.gazetteer)
        if state.conversation == CONFIRMING_LOCATION and _is_bare_number(text):
            return Found(), choice  # "2" picks from the list (or misses it): not an age
        return (
            Found(
                location=None if choice is not None else r.extract_location(
                    text, self.gazetteer, answering=state.conversation == ASKING_LOCATION),
                age=r.extract_age(text, answering=_asked_for(state, ASKING_AGE)),
                immediacy=r.extract_immediacy(
                    text, answering=state.conversation == ASKING_IMMEDIACY
                ),
                risks=tuple(r.extract_risks(text)),
                concepts=(*r.read_concepts(text), *r.read_account(text)),
            ),
            choice,
        )

    # ---- the host's events

    def flag_emergency(self, state: State) -> Step:
        """Dispatch decided 999: advice starts the next reply, or goes now if nothing is asked."""
        outcome = handler(state.conversation, "emergency")(Turn(state))
        return self._finish(state, outcome, (), speak=True)

    def operator_engaged(self, state: State) -> Step:
        outcome = handler(state.conversation, "operator")(Turn(state))
        return self._finish(state, outcome, (), speak=False)

    def silence(self, state: State, now: datetime, minutes: float) -> Step:
        """After `minutes` without an answer to the question put, the bot stops asking."""
        if state.conversation == DONE or state.asked_at is None:
            return Step(state)
        if now - datetime.fromisoformat(state.asked_at) < timedelta(minutes=minutes):
            return Step(state)
        outcome = handler(state.conversation, "silence")(Turn(state, now=now))
        return self._finish(state, outcome, (), speak=False)

    def reopen(self, state: State, now: datetime) -> Step:
        """A closed case texted again (the host decides the 24 hours); the text follows via step()."""
        outcome = handler(state.conversation, "reopen")(Turn(state, now=now))
        return self._finish(state, outcome, (), speak=False)

    # ----

    def _finish(
        self, before: State, outcome: Outcome, resumed: tuple[str, ...], *, speak: bool
    ) -> Step:
        state, texts, said = outcome.state, (), ()
        if speak:
            bilingual = (self.detect is not None and state.language is None
                         and not state.acknowledged)
            result = compose(state, outcome.lines, outcome.events, self.wording,
                             bilingual=bilingual)
            state, texts, said = result.state, result.texts, result.events
        changed = state.facts != before.facts
        events = resumed + (("facts_changed",) if changed else ()) + outcome.events + said
        return Step(state, texts, changed, events)
