"""Golden transcripts: whole conversations, texter and bot turn by turn, with the real extractors.

Each file in golden/ is a script. The lines a person writes are the inputs:
    # ...          a comment (kept)
    > text         the texter sends `text` (the clock moves on one minute first)
    ~ 30           the clock moves on 30 minutes
    ! emergency    the host: dispatch decided 999 (Engine.flag_emergency)
    ! operator     the host: an operator replied or claimed (Engine.operator_engaged)
    ! silence 10   the host: the silence timeout of 10 minutes is checked (Engine.silence)
    ! reopen       the host: a text came within 24 hours of the case closing (Engine.reopen)
Everything else is output, written by the engine: "< reply" for each bot text, "= events" for
the audit events, and after "--- end" the final state and facts.

    UPDATE_GOLDEN=1 pytest tests/conversation/test_golden.py

rewrites the outputs; review the diff as you would a script.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.conversation.engine import Engine, Step
from app.conversation.state import State
from app.conversation.wording import load_wording
from app.gazetteer import load_gazetteer
from tests.conversation.golden_format import END, check_or_update, inputs, state_lines

GOLDEN = Path(__file__).with_name("golden")
FILES = sorted(GOLDEN.glob("*.txt"))
START = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
REFERENCE = "TL-261128-0042"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_gazetteer(None), load_wording(None))


def _outputs(step: Step) -> list[str]:
    out = [f"< {reply}" for reply in step.replies]
    if step.events:
        out.append("= " + " ".join(step.events))
    return out


def play(engine: Engine, script: list[str]) -> str:
    state = State.initial(REFERENCE)
    now = START
    out: list[str] = []
    for line in script:
        out.append(line)
        if line.startswith("#"):
            continue
        mark, arg = line[0], line[2:]
        if mark == "~":
            now += timedelta(minutes=float(arg))
            continue
        if mark == ">":
            now += timedelta(minutes=1)
            step = engine.step(state, arg, now)
        else:
            action, *rest = arg.split()
            if action == "emergency":
                step = engine.flag_emergency(state)
            elif action == "operator":
                step = engine.operator_engaged(state)
            elif action == "silence":
                step = engine.silence(state, now, float(rest[0]))
            elif action == "reopen":
                step = engine.reopen(state, now)
            else:
                raise ValueError(f"unknown host action {action!r}")
        # every transcript is also a round-trip check of the stored state
        assert State.from_dict(step.state.to_dict()) == step.state
        state = step.state
        out.extend(_outputs(step))
    out.extend([END, *state_lines(state)])
    return "\n".join(out) + "\n"


def test_there_are_enough_transcripts() -> None:
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_golden(engine: Engine, path: Path) -> None:
    actual = play(engine, inputs(path.read_text(encoding="utf-8")))
    check_or_update(path, actual)
