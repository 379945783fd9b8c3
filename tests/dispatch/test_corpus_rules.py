"""The built-in rules against the corpus's expectations, facts taken from `expect` itself.

This checks the rules, not the extractors: each case's decision, queue and priority must follow
from the immediacy, child and risk indicators its author wrote down. Where `expect` leaves a
fact out, the facts are partial, and the rules may only come out the same or less urgent.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from app.dispatch.decide import DispatchFacts, decide
from app.dispatch.rules import load_rules
from tests.conftest import unavailable
from tests.corpus.runner import CORPUS

BUILTIN = load_rules(None)
URGENCY = {"P1": 3, "P2": 2, "P3": 1}
OUTCOME_KEYS = ("decision", "queue", "priority")


def _cases() -> list[dict[str, Any]]:
    if not CORPUS.exists():
        return []
    return [
        c for c in yaml.safe_load(CORPUS.read_text()) if all(k in c["expect"] for k in OUTCOME_KEYS)
    ]


CASES = _cases()
FULL = [c for c in CASES if "immediacy" in c["expect"] and "risk_includes" in c["expect"]]
PARTIAL = [c for c in CASES if c not in FULL]

def test_corpus_is_present() -> None:
    """The checks below are parametrized by the corpus: without it they would vanish quietly."""
    if not CORPUS.exists():
        unavailable("the conversation corpus", f"missing at {CORPUS}")
    assert CASES


def facts_from_expect(expect: dict[str, Any]) -> DispatchFacts:
    risks = tuple(expect.get("risk_includes") or ())
    age = expect.get("age_contains")
    return DispatchFacts(
        immediacy=expect.get("immediacy"),
        risks=frozenset(risks),
        evidence=tuple((r, "from expect") for r in risks),
        child=expect.get("child"),
        age_min=age,
        age_max=age,
    )


def test_the_corpus_gives_enough_cases_to_check() -> None:
    assert len(FULL) >= 30
    assert {c["expect"]["queue"] for c in FULL} == {"emergency", "safeguarding", "general"}


@pytest.mark.parametrize("case", FULL, ids=[c["id"] for c in FULL])
def test_rules_give_the_expected_outcome(case: dict[str, Any]) -> None:
    expect = case["expect"]
    got = decide(facts_from_expect(expect), BUILTIN)
    assert (got.decision, got.queue, got.priority) == tuple(expect[k] for k in OUTCOME_KEYS)


@pytest.mark.parametrize("case", PARTIAL, ids=[c["id"] for c in PARTIAL])
def test_partial_facts_never_overshoot(case: dict[str, Any]) -> None:
    expect = case["expect"]
    got = decide(facts_from_expect(expect), BUILTIN)
    assert URGENCY[got.priority] <= URGENCY[expect["priority"]]
    if expect["decision"] == "101":
        assert got.decision == "101"
