"""Turning a handler's lines into the texts actually sent, the same way for every handler.

Here live the rules that hold whatever came in: a discreet texter gets nothing; an opted-out
texter gets only the one STOP confirmation; the first reply carries the reference and the 999
line; a severe risk or a 999 decision puts the advice to call 999 first in the next reply.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.conversation.facts import SEVERE_INDICATORS
from app.conversation.gsm import segments, to_gsm7
from app.conversation.language import ENGLISH, WELSH, answer_language
from app.conversation.state import DONE, State
from app.conversation.wording import Wording
from app.gazetteer.model import StationRef

MAX_SEGMENTS = 2


@dataclass(frozen=True)
class Said:
    state: State
    texts: tuple[str, ...]
    events: tuple[str, ...]


def choices_text(choices: tuple[StationRef, ...]) -> str:
    return ", ".join(f"{n} {to_gsm7(c.name)}" for n, c in enumerate(choices, start=1))


def severe_seen(state: State) -> bool:
    return any(r.indicator in SEVERE_INDICATORS for r in state.facts.risks)


def pack(parts: list[str]) -> tuple[str, ...]:
    """Join parts into as few texts as possible, none longer than two segments."""
    texts: list[str] = []
    current = ""
    for part in parts:
        joined = f"{current} {part}" if current else part
        if current and segments(joined)[0] > MAX_SEGMENTS:
            texts.append(current)
            current = part
        else:
            current = joined
    if current:
        texts.append(current)
    return tuple(texts)


def compose(
    state: State, lines: tuple[str, ...], events: tuple[str, ...], wording: Wording,
    *, bilingual: bool = False,
) -> Said:
    """The texts for `lines`, with whatever opening is due; the state records what was said.

    Written in Welsh to a Welsh conversation, in English otherwise; with `bilingual` (a first
    reply to a text whose language cannot be told) in Welsh and then in English. The first reply
    once the texter is known to write in another language says an interpreter can be arranged."""
    confirming_stop = "opted_out" in events
    if state.discreet or (state.opted_out and not confirming_stop):
        return Said(state, (), ())
    emergency = state.emergency and not state.emergency_advised
    severe = severe_seen(state) and not (state.severe_advised or state.emergency_advised)
    # With nothing else to say, advice still goes out once the bot has stopped asking:
    # a 999 decision always, a newly seen severe risk unless an operator is talking.
    alone = state.conversation == DONE and (
        emergency or state.reopen_due or (severe and not state.operator_engaged)
    )
    if not lines and not alone:
        return Said(state, (), ())

    params = {"reference": state.reference, "choices": choices_text(state.choices)}
    keys: list[str] = []
    said: list[str] = []
    changes: dict[str, bool] = {}
    if not state.acknowledged:
        urgent = emergency or severe
        keys.append("ack_severe" if urgent else "ack")
        said.append("acknowledged")
        changes.update(acknowledged=True, reopen_due=False)
        if urgent:
            said.append("advice:999")
            changes.update(severe_advised=True, emergency_advised=state.emergency)
    else:
        if emergency:
            keys.append("emergency_advice")
            said.append("advice:999_now")
            changes.update(emergency_advised=True, severe_advised=True)
        elif severe:
            keys.append("severe_advice")
            said.append("advice:999")
            changes.update(severe_advised=True)
        if state.reopen_due:
            keys.append("reopened")
            changes.update(reopen_due=False)
    if state.language not in (None, ENGLISH, WELSH) and not state.interpreter_offered:
        # Once, in the first reply that knows the texter writes in another language.
        keys.insert(1 if keys else 0, "interpreter")
        said.append("interpreter_offered")
        changes.update(interpreter_offered=True)
    keys.extend(lines)
    languages = (WELSH, ENGLISH) if bilingual else (answer_language(state.language),)
    texts = tuple(
        text
        for language in languages
        for text in pack([to_gsm7(wording.render(key, language, **params)) for key in keys])
    )
    return Said(state.with_(**changes), texts, tuple(said))
