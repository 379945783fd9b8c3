"""What a text asks of the service rather than tells it: stop, start, help, discretion, "don't know".

Keywords (stop, start, help) count only as the whole message, as carriers and Twilio treat
them: "stop" is an opt-out, "he wont stop following me" is a report. Discretion and
"don't know" count anywhere in a text. YES is reported as "start"; only the conversation
engine knows whether it restarts an opted-out texter or answers a question.
"""

from __future__ import annotations

import re

STOP_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"}
)
START_WORDS = frozenset({"start", "unstop", "yes"})
HELP_WORDS = frozenset({"help", "info"})

_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_INNER_SPACE = re.compile(r"[\s\-_]+")

_A = r"['’]?"  # an apostrophe texters may leave out
_DISCREET = re.compile(
    r"(?<!\w)(?:"
    rf"can{_A}t\s+(?:talk|speak|call|ring|answer|reply)|(?:cannot|can\s+not)\s+(?:talk|speak)"
    rf"|(?:don{_A}t|do\s+not|dont|pls\s+don{_A}t|please\s+don{_A}t)\s+"
    r"(?:text|reply|respond|message|msg|call|ring|answer)(?:\s+(?:back|me|me\s+back))?"
    r"|no\s+(?:texts|replies|reply|calls|messages)"
    rf"|(?:they|he|she|hes|shes|he{_A}s|she{_A}s|they{_A}re|theyre|someone|people)\s+"
    r"(?:can|could|might|will|may)?\s*(?:see|read|check|checking|watching|looking\s+at)\s+"
    r"(?:my\s+(?:phone|screen|messages|texts)|me)"
    rf"|(?:he{_A}s|she{_A}s|hes|shes|they{_A}re|theyre|they\s+are|he\s+is|she\s+is)\s+watching\s+me"
    rf"|(?:i{_A}m|im|i\s+am)\s+hiding"
    r"|silent\s+please|text\s+only|(?:keep|be)\s+(?:it\s+)?(?:quiet|discreet)"
    # "not safe to call", "please no call me": the texter cannot be rung or answer aloud.
    rf"|(?:not|isn{_A}t|isnt)\s+safe\s+to\s+(?:call|talk|ring|speak|reply|answer)"
    r"|(?:please|pls|plz)\s+no\s+(?:call|calls|ring|text|texts|reply|replies|message|messages|msg)"
    r")(?!\w)"
)
_DONT_KNOW = re.compile(
    r"(?<!\w)(?:"
    rf"(?:i\s+)?(?:don{_A}t|do\s+not|dont|dunno)\s+(?:know|no|remember)|dunno|idk|no\s+idea|no\s+clue"
    rf"|not\s+(?:sure|certain)|unsure|can{_A}t\s+(?:remember|tell|say)|cannot\s+(?:remember|tell)"
    rf"|couldn{_A}t\s+(?:see|tell|say)"
    r")(?!\w)"
)


def _keyword(text: str) -> str:
    """The whole message as one keyword: "Stop." -> "stop", "opt out" -> "optout"."""
    return _INNER_SPACE.sub("", _EDGES.sub("", text.strip().lower()))


def detect_intents(text: str) -> frozenset[str]:
    """Some of "stop", "start", "help", "discreet", "dont_know"."""
    found: set[str] = set()
    word = _keyword(text)
    if word in STOP_WORDS:
        found.add("stop")
    elif word in START_WORDS:
        found.add("start")
    elif word in HELP_WORDS:
        found.add("help")
    low = text.lower()
    if _DISCREET.search(low):
        found.add("discreet")
    if _DONT_KNOW.search(low):
        found.add("dont_know")
    return frozenset(found)
