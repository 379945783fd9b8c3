"""The `language:` condition of the routing rules."""

from __future__ import annotations

import pytest

from app.dispatch.decide import DispatchFacts, decide
from app.dispatch.rules import RulesError, parse_rules

RULES = """
rules:
  - name: interpreter-desk
    when: {language: [other]}
    then: {decision: "101", queue: interpreters, priority: P2}
  - name: welsh-desk
    when: {language: cy}
    then: {decision: "101", queue: welsh, priority: P3}
  - name: routine
    when: {}
    then: {decision: "101", queue: general, priority: P3}
"""


@pytest.mark.parametrize(
    ("language", "queue"),
    [("pl", "interpreters"), ("ar", "interpreters"), ("cy", "welsh"), ("en", "general"),
     (None, "general")],
)
def test_language_routes(language: str | None, queue: str) -> None:
    rules = parse_rules(RULES, "yaml")
    got = decide(DispatchFacts(language=language), rules)
    assert got.queue == queue
    if queue != "general":
        assert f"language {language}" in got.reasons


@pytest.mark.parametrize("bad", ["[polish]", "[p1]", "[]"])
def test_a_bad_language_code_is_refused(bad: str) -> None:
    with pytest.raises(RulesError):
        parse_rules(RULES.replace("[other]", bad), "yaml")
