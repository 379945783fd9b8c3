"""Properties of all the non-location extractors together, and the public corpus as a check.

No input crashes an extractor; every piece of evidence is words from the text; ages are
well-formed; the set is fast. The corpus check reads each scripted conversation's texts and
asks that its expected risks, age and immediacy are among what the extractors found.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from app.conversation.extract.age import extract_age
from app.conversation.extract.immediacy import extract_immediacy
from app.conversation.extract.intent import detect_intents
from app.conversation.extract.risk import extract_risks
from app.conversation.facts import RISK_INDICATORS
from tests.corpus.runner import CORPUS

INTENTS = {"stop", "start", "help", "discreet", "dont_know"}

WORDS = (
    "lad boy girl kid man men older about maybe looks im hes shes whos is of a the no not never "
    "didnt hasnt without knife blade fight hitting punched touched exposed flashing county lines "
    "giving him her packages bag cash to people now right still here yes ya no just mins ago hours "
    "yesterday last friday platform plat coach train the 14:32 £20 quid year old yo ish or and "
    "but , . ! ? ' - / 13 14 15 2 3 20 25 30s 40s fourteen thirteen twenty young teen teenager "
    "school uniform grown stop help cant talk dont know not sure happening going on over gone"
).split()
sentences = st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join)
any_text = st.one_of(st.text(max_size=300), sentences)


def _in_text(fragment: str, text: str) -> bool:
    """The evidence is the text's own words: one run of them, or several joined by " ... "
    (the concepts a rule was made of), each in the text."""
    return all(part in text or part in text.lower() for part in fragment.split(" ... "))


@settings(max_examples=400, deadline=None)
@given(any_text, st.sampled_from([None, True, False]))
def test_no_input_crashes_and_evidence_is_from_the_text(text: str, answering: bool | None) -> None:
    age = extract_age(text, answering=answering)
    if age is not None:
        assert _in_text(age.text, text)
        assert age.min is not None or age.max is not None
        if age.min is not None and age.max is not None:
            assert 0 <= age.min <= age.max <= 120
        expected_child = (
            True
            if age.max is not None and age.max < 18
            else False
            if age.min is not None and age.min >= 18
            else None
        )
        assert age.child is expected_child

    fact = extract_immediacy(text, answering=bool(answering))
    if fact is not None:
        assert fact.value in ("now", "recent", "past", "unknown")
        assert _in_text(fact.text, text)

    risks = extract_risks(text)
    names = [r.indicator for r in risks]
    assert len(names) == len(set(names))
    for risk in risks:
        assert risk.indicator in RISK_INDICATORS
        assert risk.evidence and _in_text(risk.evidence, text)

    assert detect_intents(text) <= INTENTS


@given(sentences)
def test_extractors_are_pure(text: str) -> None:
    assert extract_age(text) == extract_age(text)
    assert extract_immediacy(text) == extract_immediacy(text)
    assert extract_risks(text) == extract_risks(text)


# ---------------------------------------------------------------- the public corpus


def _cases() -> list[dict[str, Any]]:
    return yaml.safe_load(CORPUS.read_text()) if CORPUS.exists() else []


CASES = _cases()
pytestmark_corpus = pytest.mark.skipif(not CASES, reason=f"corpus not present at {CORPUS}")


def _texts(case: dict[str, Any]) -> list[tuple[str, str]]:
    """(what the bot was waiting for, text) for every text the case may send."""
    texts = [("first", case["first"])]
    texts += list((case.get("answers") or {}).items())
    texts += list((case.get("retry") or {}).items())
    texts += [("extra", t) for t in case.get("extra") or []]
    return texts


def _age_answering(state: str) -> bool | None:
    return None if state in ("first", "extra") else state == "asking_age"


@pytestmark_corpus
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_corpus_case(case: dict[str, Any]) -> None:
    expect = case["expect"]
    texts = _texts(case)

    found = {r.indicator for _, text in texts for r in extract_risks(text)}
    assert set(expect.get("risk_includes", [])) <= found
    assert not set(expect.get("risk_excludes", [])) & found

    ages = [extract_age(text, answering=_age_answering(state)) for state, text in texts]
    ages = [a for a in ages if a is not None]
    if "age_contains" in expect:
        n = expect["age_contains"]
        assert any((a.min is None or a.min <= n) and (a.max is None or n <= a.max) for a in ages), (
            ages
        )
    if "child" in expect and expect["child"] is not None:
        assert any(a.child is expect["child"] for a in ages), ages

    if "immediacy" in expect:
        values = {
            f.value
            for state, text in texts
            if (f := extract_immediacy(text, answering=state == "asking_immediacy"))
        }
        assert expect["immediacy"] in values
