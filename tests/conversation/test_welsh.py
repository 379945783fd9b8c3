"""Reading Welsh: mutations, the gloss and its evidence, stations, ages, immediacy, keywords,
and the engine answering in Welsh with the same decision as the English twin."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.conversation.engine import Engine
from app.conversation.language import load_detector
from app.conversation.state import State
from app.conversation.welsh import gloss, radicals
from app.conversation.welsh_intents import welsh_intents, yes_or_no
from app.dispatch.decide import DispatchFacts, decide
from app.dispatch.rules import load_rules
from app.gazetteer.loader import load_gazetteer
from app.gazetteer.welsh_names import mutations
from tests.corpus.runner import STATIONS

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
GAZ = load_gazetteer(str(STATIONS))
ENGINE = Engine(GAZ, detect=load_detector())
RULES = load_rules(None)


@pytest.mark.parametrize(
    ("word", "radical"),
    [("gaerdydd", "caerdydd"), ("nghaerdydd", "caerdydd"), ("chaerdydd", "caerdydd"),
     ("mangor", "bangor"), ("nhren", "tren"), ("orsaf", "gorsaf"), ("gyllell", "cyllell"),
     ("fachgen", "bachgen"), ("ddyn", "dyn"), ("blatfform", "platfform")],
)
def test_mutations_undone(word: str, radical: str) -> None:
    assert radical in radicals(word)


def test_station_names_have_their_mutated_forms() -> None:
    assert set(mutations("Caerdydd Canolog")) >= {
        "caerdydd canolog", "gaerdydd canolog", "nghaerdydd canolog", "chaerdydd canolog"}
    assert "mangor" in mutations("Bangor") and "fenni" in mutations("Y Fenni")


def read(*texts: str) -> tuple[State, list[tuple[str, ...]]]:
    state, replies = State.initial("TL-1"), []
    for text in texts:
        heard = ENGINE.hear(state, text, NOW)
        decision = decide(DispatchFacts.from_facts(
            heard.state.facts, discreet=heard.state.discreet, local_time=None,
            language=heard.state.language), RULES)
        step = ENGINE.answer(heard, emergency=decision.decision == "999")
        state = step.state
        replies.append(step.replies)
    return state, replies


def decision_of(state: State) -> tuple[str, str, str]:
    d = decide(DispatchFacts.from_facts(state.facts, discreet=state.discreet,
                                        local_time=None), RULES)
    return d.decision, d.queue, d.priority


@pytest.mark.parametrize(
    ("text", "crs"),
    [("Dwi yng Nghaerdydd Canolog", "CDF"), ("dwi ar y platfform ym Mangor", "BNG"),
     ("dwi yng ngorsaf Abertawe", "SWA"), ("dwi yn Caergybi", "HHD"),
     ("dwi yn Wrecsam", "WRX"), ("dwi ym Machynlleth", "MCN")],
)
def test_welsh_station_names(text: str, crs: str) -> None:
    state, _ = read(text)
    assert state.facts.location is not None and state.facts.location.station is not None
    assert state.facts.location.station.crs == crs


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [("Mae merch 12 oed yma", 12, 12), ("Mae bachgen tua 14 ar y tren", 13, 15),
     ("bachgen pedair ar ddeg oed", 14, 14), ("mae hi'n un deg pump oed", 15, 15)],
)
def test_welsh_ages(text: str, low: int, high: int) -> None:
    state, _ = read(text)
    age = state.facts.age
    assert age is not None and age.min is not None and age.max is not None
    assert age.min <= low and high <= age.max


@pytest.mark.parametrize(
    ("text", "value"),
    [("Mae dyn yn gweiddi nawr", "now"), ("mae o'n digwydd rwan", "now"),
     ("mae dyn yn bygwth pobl ar hyn o bryd", "now"), ("roedd dyn yn gweiddi neithiwr", "past"),
     ("cafodd fy mag ei ddwyn ddoe", "past")],
)
def test_welsh_immediacy(text: str, value: str) -> None:
    state, _ = read(text)
    assert state.facts.immediacy is not None and state.facts.immediacy.value == value


def test_evidence_quotes_the_texters_welsh() -> None:
    state, _ = read("Mae plentyn tua 12 oed ar y trên o Gaerdydd i Abertawe gyda dyn hŷn, "
                    "mae o'n edrych yn ofnus")
    assert state.facts.age is not None and state.facts.age.text in ("12 oed", "tua 12 oed")
    evidence = {r.evidence for r in state.facts.risks} | {c.evidence for c in state.facts.concepts}
    assert "dyn hŷn" in evidence and "plentyn" in evidence


def test_gloss_keeps_offsets() -> None:
    g = gloss("Mae dyn gyda chyllell")
    assert "knife" in g.text and g.quote("knife") == "chyllell"
    assert g.quote("not there") == "not there"


def test_welsh_conversation_is_answered_in_welsh_and_decided_as_its_english_twin() -> None:
    welsh, replies = read("Mae dyn gyda chyllell ar blatfform 3 yng Nghaerdydd Canolog, nawr")
    english, english_replies = read("A man with a knife on platform 3 at Cardiff Central, now")
    assert welsh.language == "cy" and english.language == "en"
    assert "ffoniwch 999" in replies[0][0] and "call 999" in english_replies[0][0]
    assert decision_of(welsh) == decision_of(english) == ("999", "emergency", "P1")
    assert welsh.facts.location.station.crs == english.facts.location.station.crs == "CDF"


def test_an_uncertain_first_text_is_answered_in_both_languages() -> None:
    _, replies = read("Helo")
    joined = " ".join(replies[0])
    assert "Diolch am eich neges" in joined and "Thank you for your text" in joined


def test_another_language_gets_english_and_the_interpreter_line() -> None:
    state, replies = read("Dziecko w pociągu z mężczyzną, boi się")
    assert state.language == "pl"
    joined = " ".join(replies[0])
    assert "Thank you for your text" in joined and "interpreter" in joined


def test_cymraeg_switches_the_questions_to_welsh() -> None:
    state, replies = read("man shouting at people on the 14:32 to cardiff", "Cymraeg")
    assert state.language == "cy"
    assert replies[1] and "Faint yw oed" in replies[1][0]


@pytest.mark.parametrize("word", ["STOPIO", "stopio", "Dim", "STOP"])
def test_welsh_stop_words_opt_out(word: str) -> None:
    state, replies = read("Mae dyn meddw yn gweiddi ar y tren", word)
    assert state.opted_out
    assert len(replies[1]) == 1 and "DECHRAU" in replies[1][0]


def test_welsh_keywords_and_yes_no() -> None:
    assert welsh_intents("DECHRAU", True) == {"start"}
    assert welsh_intents("Cymorth", True) == {"help"}
    assert "discreet" in welsh_intents("methu siarad, mae o'n gallu gweld fy ffon", True)
    assert "dont_know" in welsh_intents("dim syniad", True)
    assert welsh_intents("do", False) == frozenset()  # English "do" is not a Welsh yes
    assert yes_or_no("Ydy") == "yes" and yes_or_no("nac ydy") == "no" and yes_or_no("oes") == "yes"


def test_welsh_yes_answers_is_it_happening_now() -> None:
    state, _ = read("Mae dyn yn gweiddi ar bobl ar blatfform 2 yn Abertawe", "tua 30", "Ydy")
    assert state.facts.immediacy is not None and state.facts.immediacy.value == "now"


def test_the_interpreter_line_goes_once_when_another_language_shows_later() -> None:
    state, replies = read("hi", "Dziecko w pociągu z mężczyzną, boi się",
                          "Jest w pociągu do Cardiff")
    assert state.language == "pl" and state.interpreter_offered
    assert "interpreter" not in " ".join(replies[0])
    assert "interpreter" in " ".join(replies[1])
    assert "interpreter" not in " ".join(replies[2])


def test_welsh_words_in_an_english_text_are_read_and_quoted() -> None:
    state, _ = read("theres a man with a cyllell on platform 2 at Abertawe and hes waving it nawr")
    assert state.language == "en"
    assert any(r.indicator == "weapon" and r.evidence == "cyllell" for r in state.facts.risks)
    assert state.facts.immediacy is not None and state.facts.immediacy.value == "now"
    assert state.facts.location.station.crs == "SWA"
