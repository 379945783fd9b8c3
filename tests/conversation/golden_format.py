"""What both kinds of golden transcript share: reading a script's inputs, describing the
conversation's state after "--- end", and the UPDATE_GOLDEN=1 flag that rewrites the outputs.

test_golden.py plays a script against the pure engine; test_golden_host.py plays it through the
whole host path (the inbox, receive(), the engine, the dispatcher, the database).
"""

from __future__ import annotations

import os
from pathlib import Path

from app.conversation.facts import Facts
from app.conversation.state import State

END = "--- end"
INPUTS = ("> ", "~ ", "! ")
FLAGS = (
    "discreet",
    "opted_out",
    "operator_engaged",
    "emergency",
    "acknowledged",
    "severe_advised",
    "emergency_advised",
    "timed_out",
    "reopen_due",
)


def inputs(text: str) -> list[str]:
    """The lines a person wrote (texts, clock moves, host actions, comments); outputs dropped."""
    lines = []
    for line in text.splitlines():
        if line.startswith(END):
            break
        if line[:2] in INPUTS or line.startswith("#"):
            lines.append(line)
    return lines


def _show(value: object) -> str:
    return "-" if value is None else str(value)


def state_lines(state: State) -> list[str]:
    """The conversation and the facts as they stand, one line each."""
    facts: Facts = state.facts
    flags = [f for f in FLAGS if getattr(state, f)]
    lines = [
        f"conversation: {state.conversation}",
        f"flags: {', '.join(flags) or '-'}",
    ]
    if state.closed:
        lines.append(f"closed: {', '.join(state.closed)}")
    loc = facts.location
    if loc is None:
        lines.append("location: -")
    else:
        station = f"{loc.station.name} ({loc.station.crs})" if loc.station else "-"
        cands = ", ".join(c.crs for c in loc.candidates) or "-"
        lines.append(
            f"location: station={station} platform={_show(loc.platform)} "
            f"train={_show(loc.train)} coach={_show(loc.coach)} candidates={cands}"
        )
        lines.append(f"  from: {loc.text!r}")
    age = facts.age
    if age is None:
        lines.append("age: -")
    else:
        child = {True: "yes", False: "no", None: "unknown"}[age.child]
        lines.append(
            f"age: min={_show(age.min)} max={_show(age.max)} child={child} from {age.text!r}"
        )
    imm = facts.immediacy
    lines.append("immediacy: -" if imm is None else f"immediacy: {imm.value} from {imm.text!r}")
    risks = ", ".join(f"{r.indicator} ({r.evidence!r})" for r in facts.risks)
    lines.append(f"risks: {risks or '-'}")
    return lines


def check_or_update(path: Path, actual: str) -> None:
    """Compare with the file; with UPDATE_GOLDEN=1, rewrite it instead."""
    text = path.read_text(encoding="utf-8")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        if actual != text:
            path.write_text(actual, encoding="utf-8")
        return
    assert actual == text, f"{path.name} differs; rerun with UPDATE_GOLDEN=1 and review the diff"
