"""What a person's override of the dispatcher must satisfy before it is stored.

The queue must be one the routing file routes to: a case put in a queue nobody watches (a typo,
a name from an old file) would wait there unseen. The priority must fit the decision, as the
routing file's own rules must. Standing a 999 down to a 101 is the one override that can leave
someone in danger without help, so it takes a reason a reader can judge later, from someone who
answers for the case: a supervisor (or admin), or the operator who has claimed it.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from app.auth.service import Principal
from app.dispatch.rules import PRIORITIES, load_rules
from app.kit.errors import Forbidden, Unprocessable
from app.models import Case

DECISION_PRIORITIES = {"999": ("P1",), "101": ("P2", "P3")}
STAND_DOWN_WORDS = 3
STAND_DOWN_CHARS = 15
STAND_DOWN_WHO = ("only a supervisor, or the operator who has claimed this case, may move a 999 "
                  "down to 101: claim the case first, or ask a supervisor")
STAND_DOWN_REASON = (f"moving a 999 down to 101 needs a reason of at least {STAND_DOWN_WORDS} "
                     f"words and {STAND_DOWN_CHARS} characters, saying why it is not an emergency")
_WORD = re.compile(r"\w+")


def routing_queues(rt: Any) -> tuple[str, ...]:
    """The queues of the routing rules this server runs with."""
    rules = getattr(rt.intake, "rules", None)
    if rules is None:  # an intake without rules of its own: the file the settings name
        path = rt.settings.routing_file
        rules = load_rules(str(path) if path is not None else None)
    return rules.queues  # type: ignore[no-any-return]


def check_queue(queue: str, allowed: tuple[str, ...]) -> str:
    if queue in allowed:
        return queue
    by_case = [q for q in allowed if q.lower() == queue.lower()]
    close = by_case or difflib.get_close_matches(queue, allowed, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise Unprocessable(f"queue '{queue}' is not one of the routing file's queues: "
                        f"{', '.join(allowed)}{hint}")


def check_priority(decision: str, priority: str | None) -> str | None:
    """The priority asked for, if it fits the decision; None when none was asked for."""
    if priority is None or priority == "":
        return None
    if priority not in PRIORITIES:
        raise Unprocessable(f"priority must be one of {', '.join(PRIORITIES)}")
    if priority not in DECISION_PRIORITIES[decision]:
        if decision == "999":
            raise Unprocessable("a 999 decision is always priority P1")
        raise Unprocessable("a 101 decision is priority P2 or P3; P1 is for 999")
    return priority


def default_priority(case: Case, decision: str) -> str:
    """No priority asked for: P1 for a 999; a 101 keeps the 101 priority it had, else P2."""
    if decision == "999":
        return "P1"
    if case.decision == "101" and case.priority in DECISION_PRIORITIES["101"]:
        return case.priority  # type: ignore[return-value]
    return "P2"


def check_stand_down(case: Case, principal: Principal, decision: str, reason: str) -> None:
    """A 999 moved down to 101: by a supervisor or the case's holder, with a real reason."""
    if case.decision != "999" or decision != "101":
        return
    if not principal.has("supervisor") and case.assigned_to_id != principal.user_id:
        raise Forbidden(STAND_DOWN_WHO)
    if len(_WORD.findall(reason)) < STAND_DOWN_WORDS or len(reason) < STAND_DOWN_CHARS:
        raise Unprocessable(STAND_DOWN_REASON)
