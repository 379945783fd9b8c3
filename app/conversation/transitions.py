"""The transition table: (conversation state, input kind) -> handler.

Every inbound text is read first (facts merged into the state), then classified into one input
kind; the host's own events (an operator engaging, a silence timeout, a 999 decision, a reopen)
are input kinds too. A handler returns the new state, the wording keys of the lines the bot
would say, and audit events. Whether anything is actually texted (discreet, opted out) and how
it opens (reference, 999 advice) is decided afterwards, in replies.py, for every handler alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from app.conversation.merge import keep_raw
from app.conversation.state import (
    ASKING_AGE,
    ASKING_IMMEDIACY,
    ASKING_LOCATION,
    ASKING_WHAT,
    CONFIRMING_LOCATION,
    DONE,
    FACT_OF,
    State,
    next_question,
)
from app.gazetteer.model import StationRef

KINDS = (
    "stop",  # STOP, UNSUBSCRIBE and the other opt-out words
    "start",  # START and the other opt-in words, while opted out
    "help",  # HELP
    "discreet",  # "can't talk", "don't text back", "they can see my phone"
    "dont_know",  # "don't know" to the question put
    "answer",  # the text settles the question put (or, when done, adds facts)
    "unreadable",  # the text does not settle the question put
    "choice",  # a station picked from the numbered list
    "operator",  # host: an operator replied or claimed the case
    "silence",  # host: no answer within the silence timeout
    "emergency",  # host: dispatch decided 999
    "reopen",  # host: a text arrived within 24 hours of the case closing
    "language",  # "Cymraeg" or "English" as the whole text: the open question again, in it
)

MAX_CHOICES = 5
ASK_KEY = {
    ASKING_WHAT: "ask_what",
    ASKING_LOCATION: "ask_location",
    CONFIRMING_LOCATION: "confirm_location",
    ASKING_AGE: "ask_age",
    ASKING_IMMEDIACY: "ask_immediacy",
}


@dataclass(frozen=True)
class Turn:
    state: State  # facts of the text already merged
    text: str = ""
    now: datetime | None = None
    choice: StationRef | None = None
    other_facts: bool = False  # the text added facts other than the one asked for


@dataclass(frozen=True)
class Outcome:
    state: State
    lines: tuple[str, ...] = ()  # wording keys, in order
    events: tuple[str, ...] = ()


Handler = Callable[[Turn], Outcome]


def offered(state: State) -> tuple[StationRef, ...]:
    """The numbered stations for confirming: those shown, or those the location offers."""
    if state.choices:
        return state.choices
    loc = state.facts.location
    return loc.candidates[:MAX_CHOICES] if loc is not None else ()


def _count(state: State, question: str, again: bool) -> int:
    if again:
        return state.asks + 1
    if question == state.conversation:
        return max(1, state.asks)  # put again plainly (HELP, START): not a re-ask
    return 1


def _put(state: State, question: str, now: datetime | None, again: bool = False) -> Outcome:
    """Put `question` to the texter (again, in other words, when `again`)."""
    if question == DONE:
        return Outcome(state.with_(conversation=DONE, choices=()))
    changes: dict = {
        "conversation": question,
        "last_asked": question,
        "asked_at": now.isoformat() if now is not None else state.asked_at,
        "asks": _count(state, question, again),
        "choices": (),
    }
    if question == CONFIRMING_LOCATION:
        changes["choices"] = offered(state)
    key = ("re" if again else "") + ASK_KEY[question]
    return Outcome(state.with_(**changes), (key,), (f"reask:{question}",) if again else ())


def advance(turn: Turn) -> Outcome:
    """Ask the first fact still missing, or close with thanks once nothing is."""
    state = turn.state
    question = next_question(state)
    if question != DONE:
        return _put(state, question, turn.now)
    if state.conversation == DONE:
        return Outcome(state.with_(choices=()))
    closing = ("done",) if state.can_ask else ()
    return Outcome(state.with_(conversation=DONE, choices=()), closing, ("questions_done",))


def unreadable(turn: Turn) -> Outcome:
    """Ask once more in other words; the time after that, keep the raw text and move on."""
    state = turn.state
    question = state.conversation
    if state.asks == 0:  # never put (the first text, or just reopened): ask it plainly
        return advance(turn)
    if state.asks == 1:
        return _put(state, question, turn.now, again=True)
    fact = FACT_OF[question]
    if turn.other_facts:  # it said something else ("about 17" to "where?"): not this answer
        kept, event = state.with_(closed=state.closed + (fact,)), f"moved_on:{question}"
    else:
        facts = keep_raw(state.facts, fact, turn.text)
        kept, event = (
            state.with_(facts=facts, closed=state.closed + (fact,)),
            f"raw_kept:{question}",
        )
    moved = advance(Turn(kept, turn.text, turn.now))
    return Outcome(moved.state, moved.lines, (event,) + moved.events)


def described(turn: Turn) -> Outcome:
    """Any answer to "what is happening?" is the texter's account: read (every text is), kept
    in the transcript, and never asked for again, however little the extractors made of it."""
    state = turn.state
    if state.asks == 0:  # not yet put (the first text): put it
        return advance(turn)
    told = state.with_(closed=state.closed + ("what",))
    moved = advance(Turn(told, turn.text, turn.now))
    return Outcome(moved.state, moved.lines, ("described",) + moved.events)


def dont_know(turn: Turn) -> Outcome:
    state = turn.state
    question = state.conversation
    fact = FACT_OF[question]
    known = state.with_(facts=keep_raw(state.facts, fact, turn.text), closed=state.closed + (fact,))
    moved = advance(Turn(known, turn.text, turn.now))
    return Outcome(moved.state, moved.lines, (f"dont_know:{question}",) + moved.events)


def take_choice(turn: Turn) -> Outcome:
    state, choice = turn.state, turn.choice
    loc = state.facts.location
    if choice is None or loc is None:
        return unreadable(turn)
    answer = turn.text.strip()
    text = loc.text if answer.lower() in loc.text.lower() else f"{loc.text}; {answer}"
    chosen = replace(loc, text=text, station=choice, candidates=())
    picked = state.with_(facts=replace(state.facts, location=chosen))
    moved = advance(Turn(picked, turn.text, turn.now))
    return Outcome(moved.state, moved.lines, (f"chosen:{choice.crs}",) + moved.events)


def help_(turn: Turn) -> Outcome:
    """What the service is, then the open question again (not counted as a re-ask)."""
    state = turn.state
    if state.conversation == DONE or not state.can_ask:
        return Outcome(state, ("help",), ("help",))
    put = _put(state, state.conversation, turn.now)
    return Outcome(put.state, ("help",) + put.lines, ("help",))


def relanguage(turn: Turn) -> Outcome:
    """The texter asked for the other language: the open question again (not a re-ask)."""
    state = turn.state
    if state.conversation == DONE or not state.can_ask:
        return Outcome(state, (), ("language",))
    put = _put(state, state.conversation, turn.now)
    return Outcome(put.state, put.lines, ("language",))


def opt_out(turn: Turn) -> Outcome:
    state = turn.state
    if state.opted_out:
        return Outcome(state)
    stopped = state.with_(opted_out=True, conversation=DONE, choices=())
    return Outcome(stopped, ("stop_confirm",), ("opted_out",))


def opt_in(turn: Turn) -> Outcome:
    """START: texts back on, with the open question if any."""
    state = turn.state
    if not state.opted_out:
        return Outcome(state)
    started = state.with_(opted_out=False, timed_out=False, asks=0)
    put = _put(started, next_question(started), turn.now)
    return Outcome(put.state, ("start_confirm",) + put.lines, ("opted_in",))


def go_discreet(turn: Turn) -> Outcome:
    state = turn.state
    if state.discreet:
        return Outcome(state.with_(conversation=DONE, choices=()))
    return Outcome(state.with_(discreet=True, conversation=DONE, choices=()), (), ("discreet",))


def absorb(turn: Turn) -> Outcome:
    """Nothing is being asked: the text's facts are kept and nothing is said."""
    return Outcome(turn.state)


def hand_over(turn: Turn) -> Outcome:
    state = turn.state
    if state.operator_engaged:
        return Outcome(state.with_(conversation=DONE, choices=()))
    engaged = state.with_(operator_engaged=True, conversation=DONE, choices=())
    return Outcome(engaged, (), ("operator_engaged",))


def time_out(turn: Turn) -> Outcome:
    state = turn.state
    if state.conversation == DONE:
        return Outcome(state)
    return Outcome(
        state.with_(conversation=DONE, timed_out=True, choices=()), (), ("silence_timeout",)
    )


def flag(turn: Turn) -> Outcome:
    state = turn.state
    if state.emergency:
        return Outcome(state)
    return Outcome(state.with_(emergency=True), (), ("emergency",))


def reopen(turn: Turn) -> Outcome:
    """Facts kept; the bot may ask again what is still missing; the next reply says so."""
    state = turn.state.with_(
        operator_engaged=False,
        timed_out=False,
        asks=0,
        choices=(),
        reopen_due=turn.state.acknowledged,
    )
    state = state.with_(conversation=next_question(state))
    if state.conversation == CONFIRMING_LOCATION:
        state = state.with_(choices=offered(state))
    return Outcome(state, (), ("reopened",))


# The table. Rows are what the bot is waiting for; columns are what came in.
_ASKING: dict[str, Handler] = {
    "stop": opt_out,
    "start": opt_in,
    "help": help_,
    "discreet": go_discreet,
    "dont_know": dont_know,
    "answer": advance,
    "unreadable": unreadable,
    "choice": advance,  # only offered while confirming; elsewhere the facts speak for themselves
    "operator": hand_over,
    "silence": time_out,
    "emergency": flag,
    "reopen": reopen,
    "language": relanguage,
}

TABLE: dict[str, dict[str, Handler]] = {
    ASKING_WHAT: {**_ASKING, "unreadable": described, "dont_know": described},
    ASKING_LOCATION: dict(_ASKING),
    CONFIRMING_LOCATION: {**_ASKING, "choice": take_choice},
    ASKING_AGE: dict(_ASKING),
    ASKING_IMMEDIACY: dict(_ASKING),
    DONE: {
        "stop": opt_out,
        "start": opt_in,
        "help": help_,
        "discreet": go_discreet,
        "dont_know": absorb,
        "answer": absorb,
        "unreadable": absorb,
        "choice": absorb,
        "operator": hand_over,
        "silence": time_out,
        "emergency": flag,
        "reopen": reopen,
        "language": relanguage,
    },
}


def handler(conversation: str, kind: str) -> Handler:
    return TABLE[conversation][kind]
