"""Engine behaviour, with the real extractors and station list reading texts as a texter writes them.

Each test names the mechanism it checks (the order of the questions, re-asks, STOP, the host's
events); the texts are chosen so that the real readers find exactly the facts the test is about.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.conversation.engine import Engine, Step
from app.conversation.facts import Age, Facts, ImmediacyFact, Location, Risk
from app.conversation.state import State
from app.conversation.wording import load_wording
from app.gazetteer import load_gazetteer

T0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
REF = "TL-261128-0042"
GAZETTEER = load_gazetteer(None)
CLJ, LDS, AFK = (GAZETTEER.get(crs).ref() for crs in ("CLJ", "LDS", "AFK"))
# An account with a place and a worry in it, and neither an age nor a time: the bot asks the age.
AT_LEEDS = "a lad looks scared at leeds station"
# The same with an age and "now": nothing is left to ask.
ALL_AT_LEEDS = "lad about 14 looks scared at leeds station now"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(GAZETTEER, load_wording(None))


def is_about(age: Age | None, years: int) -> bool:
    """"about 14" is read as a range around it."""
    return age is not None and age.min is not None and age.min <= years <= age.max


def talk(engine: Engine, *texts: str, state: State | None = None) -> list[Step]:
    state = state or State.initial(REF)
    steps = []
    for i, text in enumerate(texts):
        step = engine.step(state, text, T0 + timedelta(minutes=i))
        steps.append(step)
        state = step.state
    return steps


def test_all_in_one_first_text_asks_nothing(engine: Engine) -> None:
    (step,) = talk(engine, "lad about 14 with two older men on platform 4 at clapham jn now")
    assert step.state.conversation == "done"
    assert step.state.facts.location.station == CLJ
    assert step.state.facts.location.platform == "4"
    assert is_about(step.state.facts.age, 14)
    assert step.state.facts.immediacy.value == "now"
    assert len(step.replies) == 1
    assert REF in step.replies[0]
    assert "If anyone is in immediate danger, call 999." in step.replies[0]
    assert "That is all we need for now." in step.replies[0]
    assert step.facts_changed and "facts_changed" in step.events
    assert "questions_done" in step.events


def test_questions_in_order_location_age_immediacy(engine: Engine) -> None:
    steps = talk(engine, "a lad looks scared", "clapham jn", "about 14", "yes")
    assert [s.state.conversation for s in steps] == [
        "asking_location",
        "asking_age",
        "asking_immediacy",
        "done",
    ]
    assert steps[0].replies[0].startswith("Thank you for your text. Your reference is")
    assert "Where are you?" in steps[0].replies[0]
    assert steps[1].replies == (
        ("How old is the person this is about? If it is you, tell us your age. A guess is fine."),
    )
    assert "happening now" in steps[2].replies[0]
    assert steps[3].state.facts.immediacy == ImmediacyFact("now", "yes")
    assert REF not in steps[1].replies[0]  # the reference is given once


def test_only_missing_facts_are_asked(engine: Engine) -> None:
    steps = talk(engine, "a lad about 14 looks scared at leeds station")
    assert steps[0].state.conversation == "asking_immediacy"


def test_unreadable_is_asked_again_once_then_raw_kept(engine: Engine) -> None:
    steps = talk(engine, AT_LEEDS, "hang on", "blue coat")
    assert steps[1].state.conversation == "asking_age"
    assert steps[1].replies[0].startswith("Sorry")
    assert "reask:asking_age" in steps[1].events
    last = steps[2]
    assert "raw_kept:asking_age" in last.events
    assert last.state.facts.age == Age(text="blue coat")
    assert last.state.conversation == "asking_immediacy"
    assert "age" in last.state.closed


def test_a_different_fact_does_not_count_as_the_answer(engine: Engine) -> None:
    steps = talk(engine, AT_LEEDS, "its happening now")
    assert steps[1].state.conversation == "asking_age"
    assert steps[1].state.facts.immediacy.value == "now"
    assert "reask:asking_age" in steps[1].events


def test_dont_know_is_an_answer(engine: Engine) -> None:
    steps = talk(engine, AT_LEEDS, "dont know", "not sure")
    assert steps[1].state.facts.age == Age(text="dont know")
    assert steps[1].state.conversation == "asking_immediacy"
    assert steps[2].state.facts.immediacy == ImmediacyFact("unknown", "not sure")
    assert steps[2].state.conversation == "done"


def test_dont_know_location_keeps_the_words(engine: Engine) -> None:
    steps = talk(engine, "a lad looks scared", "not sure where we are")
    assert steps[1].state.facts.location == Location(text="not sure where we are")
    assert steps[1].state.conversation == "asking_age"


def test_dont_know_in_first_text_is_not_an_answer(engine: Engine) -> None:
    (step,) = talk(engine, "dont know what to do")
    assert step.state.conversation == "asking_what"
    assert "what" not in step.state.closed
    assert step.state.facts.location is None


def test_a_first_text_with_no_concern_is_asked_what_is_happening(engine: Engine) -> None:
    steps = talk(engine, "hello is this the right number", "its hard to explain", "leeds station")
    assert steps[0].state.conversation == "asking_what"
    assert "What is happening? Tell us what you can see." in steps[0].replies[0]
    assert "Your reference is" in steps[0].replies[0]  # still the first reply's opening
    # Any answer is the texter's account: read, and never asked for again.
    assert steps[1].state.conversation == "asking_location"
    assert "what" in steps[1].state.closed
    assert "described" in steps[1].events
    assert steps[2].state.conversation == "asking_age"


def test_an_answer_to_what_is_read_for_risk(engine: Engine) -> None:
    steps = talk(engine, "hello", "a man with a knife at leeds station")
    assert [r.indicator for r in steps[1].state.facts.risks] == ["weapon"]
    assert steps[1].state.facts.location.station == LDS
    assert steps[1].state.conversation == "asking_age"


def test_a_first_text_that_names_a_concern_is_not_asked_what(engine: Engine) -> None:
    (step,) = talk(engine, AT_LEEDS)
    assert step.state.conversation == "asking_age"


def test_a_long_first_text_is_an_account_even_without_a_named_risk(engine: Engine) -> None:
    (step,) = talk(engine, "the toilets at leeds have been locked all afternoon and nobody knows why")
    assert step.state.conversation == "asking_age"
    assert "what" in step.state.closed


def test_discreet_with_the_person_beside_them_is_happening_now(engine: Engine) -> None:
    (step,) = talk(engine, "cant talk hes next to me, lad about 13 at leeds station")
    assert step.state.discreet
    assert step.state.facts.immediacy == ImmediacyFact("now", "next to me")


def test_next_to_me_without_discretion_does_not_settle_immediacy(engine: Engine) -> None:
    (step,) = talk(engine, "lad about 13 at leeds station was next to me")
    assert step.state.facts.immediacy is None


def test_a_thank_you_when_nothing_is_asked_adds_nothing(engine: Engine) -> None:
    steps = talk(engine, "a man punched someone at leeds station yesterday", "about 30",
                 "thanks they are here now")
    assert steps[1].state.conversation == "done"
    assert steps[2].state.facts == steps[1].state.facts
    assert steps[2].state.facts.immediacy == ImmediacyFact("past", "yesterday")


def test_a_thank_you_after_a_reopen_adds_nothing(engine: Engine) -> None:
    steps = talk(engine, "a man punched someone at leeds station yesterday", "about 30")
    reopened = engine.reopen(steps[-1].state, T0 + timedelta(hours=2)).state
    (step,) = talk(engine, "thanks they are here now", state=reopened)
    assert step.state.facts == steps[-1].state.facts


def test_help_arriving_is_read_when_it_answers_a_question(engine: Engine) -> None:
    steps = talk(engine, AT_LEEDS, "about 14", "thanks they are here now")
    assert steps[1].state.conversation == "asking_immediacy"
    assert steps[2].state.facts.immediacy == ImmediacyFact("now", "now")


def test_rules_across_texts_see_every_text(engine: Engine) -> None:
    # The child is in the first text, the older men making him go in the second.
    steps = talk(engine, "lad about 15 looks lost at preston on his own",
                 "now 2 older blokes are making him go with them")
    assert "exploitation" not in [r.indicator for r in steps[0].state.facts.risks]
    exploitation = [r for r in steps[1].state.facts.risks if r.indicator == "exploitation"]
    assert exploitation and "..." in exploitation[0].evidence


@pytest.mark.parametrize("answer", ["1", "ashford international", "the one in kent"])
def test_ambiguous_station_is_confirmed(engine: Engine, answer: str) -> None:
    steps = talk(engine, "lad about 14 looks scared at ashford now", answer)
    assert steps[0].state.conversation == "confirming_location"
    assert "1 Ashford International, 2 Ashford (Surrey)" in steps[0].replies[0]
    assert steps[1].state.facts.location.station == AFK
    assert steps[1].state.facts.location.candidates == ()
    assert is_about(steps[1].state.facts.age, 14)  # "1" is not an age
    assert steps[1].state.conversation == "done"


def test_unreadable_choice_twice_moves_on_with_candidates_kept(engine: Engine) -> None:
    steps = talk(engine, "lad about 14 looks scared at ashford now", "the big one", "the other")
    assert "reask:confirming_location" in steps[1].events
    assert "Reply with the number or the full name" in steps[1].replies[0]
    final = steps[2].state
    assert final.facts.location.station is None
    assert len(final.facts.location.candidates) == 2
    assert "the other" in final.facts.location.text
    assert final.conversation == "done"


def test_severe_first_text_starts_with_999_advice(engine: Engine) -> None:
    (step,) = talk(engine, "man with a knife")
    assert step.replies[0].startswith("If anyone is in immediate danger, call 999. Please call now")
    assert REF in step.replies[0]
    assert step.state.severe_advised
    assert step.state.conversation == "asking_location"


def test_severe_later_prefixes_the_next_reply_once(engine: Engine) -> None:
    steps = talk(engine, AT_LEEDS, "hes got a knife", "about 30")
    assert steps[1].replies[0].startswith("If anyone is in danger right now, please call 999")
    assert not steps[2].replies[0].startswith("If anyone")


def test_discreet_first_text_gets_no_acknowledgement(engine: Engine) -> None:
    steps = talk(engine, "cant talk. lad about 14 at leeds station", "now", "HELP", "STOP")
    assert all(s.replies == () for s in steps)
    assert steps[0].state.discreet and steps[0].state.conversation == "done"
    assert "discreet" in steps[0].events
    assert not steps[0].state.acknowledged
    assert steps[1].state.facts.immediacy.value == "now"  # still extracted
    assert steps[3].state.opted_out


def test_discreet_later_stops_the_bot(engine: Engine) -> None:
    steps = talk(engine, AT_LEEDS, "dont text back hes 14", "now")
    assert steps[0].replies
    assert steps[1].replies == () and steps[2].replies == ()
    assert is_about(steps[1].state.facts.age, 14)
    assert steps[2].state.facts.immediacy.value == "now"


def test_stop_confirms_once_then_silence_until_start(engine: Engine) -> None:
    steps = talk(engine, AT_LEEDS, "STOP", "about 14", "stop", "START")
    assert len(steps[1].replies) == 1 and "Text START to undo" in steps[1].replies[0]
    assert "opted_out" in steps[1].events
    assert steps[2].replies == () and steps[3].replies == ()
    assert is_about(steps[2].state.facts.age, 14)  # facts still kept, silently
    start = steps[4]
    assert not start.state.opted_out
    assert start.replies[0].startswith("Texts from us are back on.")
    assert "Is this happening now?" in start.replies[0]  # the open question
    assert start.state.conversation == "asking_immediacy"


def test_yes_is_an_answer_when_not_opted_out(engine: Engine) -> None:
    steps = talk(engine, "lad about 14 looks scared at leeds station", "yes")
    assert steps[1].state.facts.immediacy.value == "now"
    assert "opted_in" not in steps[1].events


def test_stop_as_first_text_still_gives_reference_and_999_line(engine: Engine) -> None:
    (step,) = talk(engine, "STOP")
    assert "If anyone is in immediate danger, call 999." in step.replies[0]
    assert "no more texts" in step.replies[0]
    assert step.state.opted_out


def test_help_answers_then_repeats_the_open_question(engine: Engine) -> None:
    steps = talk(engine, AT_LEEDS, "HELP", "x", "y")
    assert "transport police text line" in steps[1].replies[0]
    assert steps[1].replies[0].endswith("A guess is fine.")
    assert steps[1].state.asks == 1  # HELP is not a re-ask
    assert "reask:asking_age" in steps[2].events
    assert "raw_kept:asking_age" in steps[3].events


def test_help_when_done_has_no_question(engine: Engine) -> None:
    steps = talk(engine, ALL_AT_LEEDS, "HELP")
    assert len(steps[1].replies) == 1
    assert steps[1].replies[0].endswith("Text STOP to end texts from us.")


def test_operator_engaged_stops_questions_but_not_extraction(engine: Engine) -> None:
    (first,) = talk(engine, AT_LEEDS)
    engaged = engine.operator_engaged(first.state)
    assert engaged.state.conversation == "done" and engaged.replies == ()
    assert "operator_engaged" in engaged.events
    later = engine.step(engaged.state, "hes about 14, happening now", T0 + timedelta(minutes=3))
    assert later.replies == ()
    assert is_about(later.state.facts.age, 14) and later.state.facts.immediacy.value == "now"


def test_silence_timeout_stops_asking_without_a_text(engine: Engine) -> None:
    (first,) = talk(engine, AT_LEEDS)
    early = engine.silence(first.state, T0 + timedelta(minutes=9), 10)
    assert early.state == first.state and early.events == ()
    late = engine.silence(first.state, T0 + timedelta(minutes=10), 10)
    assert late.state.conversation == "done" and late.replies == ()
    assert late.events == ("silence_timeout",)
    again = engine.silence(late.state, T0 + timedelta(minutes=30), 10)
    assert again.events == ()


def test_a_late_answer_resumes_the_questions(engine: Engine) -> None:
    (first,) = talk(engine, AT_LEEDS)
    late = engine.silence(first.state, T0 + timedelta(minutes=12), 10)
    back = engine.step(late.state, "about 14", T0 + timedelta(minutes=20))
    assert "resumed" in back.events
    assert back.state.conversation == "asking_immediacy"


def test_emergency_prefixes_the_next_reply(engine: Engine) -> None:
    (first,) = talk(engine, AT_LEEDS)
    flagged = engine.flag_emergency(first.state)
    assert flagged.replies == () and flagged.state.emergency
    nxt = engine.step(flagged.state, "about 14", T0 + timedelta(minutes=1))
    assert nxt.replies[0].startswith("Please call 999 now if you can.")
    last = engine.step(nxt.state, "yes", T0 + timedelta(minutes=2))
    assert "call 999 now" not in last.replies[0]


def test_emergency_when_done_is_said_at_once(engine: Engine) -> None:
    (first,) = talk(engine, ALL_AT_LEEDS)
    flagged = engine.flag_emergency(first.state)
    assert flagged.replies == (
        "Please call 999 now if you can. If it is not safe to talk, keep texting us.",
    )
    assert engine.flag_emergency(flagged.state).replies == ()


def test_emergency_is_not_texted_to_discreet_or_opted_out(engine: Engine) -> None:
    (first,) = talk(engine, "cant talk, leeds station now about 14")
    assert engine.flag_emergency(first.state).replies == ()
    stopped = talk(engine, ALL_AT_LEEDS, "STOP")[-1]
    assert engine.flag_emergency(stopped.state).replies == ()


def test_reopen_keeps_facts_and_says_so(engine: Engine) -> None:
    (first,) = talk(engine, ALL_AT_LEEDS)
    engaged = engine.operator_engaged(first.state).state
    reopened = engine.reopen(engaged, T0 + timedelta(hours=3))
    assert reopened.replies == () and "reopened" in reopened.events
    assert reopened.state.facts == first.state.facts and not reopened.state.operator_engaged
    nxt = engine.step(reopened.state, "hes back", T0 + timedelta(hours=3, minutes=1))
    assert nxt.replies == (
        (
            "We have reopened your report TL-261128-0042. If anyone is in immediate "
            "danger, call 999."
        ),
    )


def test_later_mentions_do_not_overwrite_answers(engine: Engine) -> None:
    steps = talk(engine, "lad about 14 looks scared at leeds station", "yes",
                 "they went to clapham jn, his mate is 19")
    final = steps[-1].state.facts
    assert final.location.station == LDS
    assert is_about(final.age, 14)
    assert steps[-1].replies == ()


def test_platform_then_station_are_merged(engine: Engine) -> None:
    steps = talk(engine, "on plat 4", "clapham jn")
    loc = steps[1].state.facts.location
    assert loc.station == CLJ and loc.platform == "4"
    assert loc.text == "plat 4; clapham jn"


def test_state_round_trips_through_json(engine: Engine) -> None:
    steps = talk(engine, "man with a knife hitting people at ashford", "2")
    for step in steps:
        data = json.loads(json.dumps(step.state.to_dict()))
        assert data == step.state.to_dict()
        assert State.from_dict(data) == step.state
    assert State.from_dict({"reference": REF}) == State.initial(REF)


def test_from_dict_ignores_unknown_keys() -> None:
    state = State(reference=REF, facts=Facts(risks=(Risk("weapon", "knife"),)))
    data = state.to_dict() | {"something_new": 1}
    assert State.from_dict(data) == state


def test_unknown_conversation_value_is_refused() -> None:
    with pytest.raises(ValueError):
        State(reference=REF, conversation="asking_shoe_size")


def test_a_third_miss_that_said_something_else_moves_on_without_raw_text(engine: Engine) -> None:
    steps = talk(engine, "a lad looks scared", "over here", "about 17")
    last = steps[-1]
    assert "moved_on:asking_location" in last.events
    assert last.state.facts.location is None
    assert is_about(last.state.facts.age, 17)
    assert last.state.conversation == "asking_immediacy"


def test_a_number_off_the_list_is_not_an_age(engine: Engine) -> None:
    steps = talk(engine, "a lad looks scared at ashford now", "7")
    assert steps[1].state.facts.age is None
    assert "reask:confirming_location" in steps[1].events


def test_a_later_platform_replaces_the_earlier_one(engine: Engine) -> None:
    steps = talk(engine, "lad about 14 looks scared on plat 4 at leeds station now",
                 "now hes on platform 6")
    assert steps[1].state.facts.location.platform == "6"
    assert steps[1].state.facts.location.station == LDS


def test_a_platform_at_another_station_is_not_taken(engine: Engine) -> None:
    steps = talk(
        engine, "lad about 14 looks scared on plat 4 at leeds station now",
        "his mate is on plat 2 at clapham jn",
    )
    assert steps[1].state.facts.location.platform == "4"


def test_a_train_mentioned_after_the_station_is_not_where_they_are(engine: Engine) -> None:
    steps = talk(engine, ALL_AT_LEEDS, "they make him go on the train")
    assert steps[1].state.facts.location.train is None


def test_replaced_wording_is_what_the_bot_says(tmp_path) -> None:
    path = tmp_path / "wording.yaml"
    path.write_text('ask_age: "Age? A guess is fine."\n', encoding="utf-8")
    engine = Engine(GAZETTEER, load_wording(str(path)))
    (step,) = talk(engine, AT_LEEDS)
    assert step.replies[0].endswith("call 999. Age? A guess is fine.")


def test_a_state_opted_out_by_the_host_stays_silent_and_done(engine: Engine) -> None:
    state = State.initial(REF).with_(opted_out=True)
    (step,) = talk(engine, "lad about 14 looks scared at leeds station", state=state)
    assert step.replies == ()
    assert step.state.conversation == "done"
    assert is_about(step.state.facts.age, 14)


def test_flagging_before_the_first_reply_makes_it_lead_with_999(engine: Engine) -> None:
    flagged = engine.flag_emergency(State.initial(REF)).state
    (step,) = talk(engine, ALL_AT_LEEDS, state=flagged)
    assert step.replies[0].startswith("If anyone is in immediate danger, call 999. Please call now")
    assert step.state.emergency_advised
    assert engine.flag_emergency(step.state).replies == ()


@pytest.mark.parametrize("text, thanks", [
    ("thanks", True),
    ("ok thank you so much", True),
    ("cheers, officers have arrived", True),
    ("thank you, the police are here now", True),
    ("thanks but hes back now and hes got a knife", False),  # a risk
    ("thanks, they are following me again", False),  # a worry
    ("no thanks", False),
    ("sorry, they are back", False),
    ("STOP", False),
    ("help", False),
])
def test_only_thanks_is_a_thank_you_with_nothing_to_act_on(engine, text, thanks):
    assert engine.only_thanks(text) is thanks
