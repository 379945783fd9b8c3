"""The outcome texts an operator may send when closing a case (outcomes.yaml).

Checked once when loaded, as the bot's wording is: plain GSM-7 and at most two segments with
the longest reference filled in, so a texter never gets the outcome split in three or more.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from app.conversation.gsm import is_gsm7, segments

OUTCOMES_FILE = Path(__file__).resolve().parent / "outcomes.yaml"
LONGEST_REFERENCE = "TL-261128-99999"  # case ids past 9999 take a fifth digit
MAX_SEGMENTS = 2


class OutcomeTextsError(ValueError):
    """The outcome texts' file breaks a rule; start-up stops naming it."""


@dataclass(frozen=True)
class OutcomeText:
    label: str
    text: str  # may hold {reference}

    def for_case(self, reference: str) -> str:
        return self.text.replace("{reference}", reference)


def check(entries: object) -> tuple[OutcomeText, ...]:
    """The file's entries, or OutcomeTextsError naming the first that breaks a rule."""
    if not isinstance(entries, list) or not entries:
        raise OutcomeTextsError("outcome texts: expected a list of {label, text}")
    out: list[OutcomeText] = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"label", "text"} or not all(
                isinstance(v, str) and v.strip() for v in entry.values()):
            raise OutcomeTextsError(f"outcome texts: each entry needs a label and a text: {entry!r}")
        item = OutcomeText(entry["label"].strip(), entry["text"].strip())
        filled = item.for_case(LONGEST_REFERENCE)
        if "{" in filled or "}" in filled:
            raise OutcomeTextsError(f"outcome text {item.label!r}: only {{reference}} may be filled in")
        if not is_gsm7(filled):
            raise OutcomeTextsError(f"outcome text {item.label!r} is not plain GSM-7")
        if segments(filled)[0] > MAX_SEGMENTS:
            raise OutcomeTextsError(f"outcome text {item.label!r} is longer than {MAX_SEGMENTS} texts")
        out.append(item)
    return tuple(out)


@cache
def outcome_texts(path: Path = OUTCOMES_FILE) -> tuple[OutcomeText, ...]:
    return check(yaml.safe_load(path.read_text(encoding="utf-8")))


def text_for(outcome: str, reference: str) -> str | None:
    """The outcome text whose label is this outcome (any case, spaces trimmed), filled in."""
    wanted = " ".join(outcome.split()).casefold()
    for item in outcome_texts():
        if item.label.casefold() == wanted:
            return item.for_case(reference)
    return None
