"""The concept lexicon: words read in every form, concepts matched with their evidence, rules
over a sentence or the whole conversation, negation, misspellings, and errors that name a line."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.conversation.extract.concepts import (
    LexiconError,
    conversation_risks,
    default_concepts,
    load_concepts,
    parse_concepts,
    read,
)
from app.conversation.extract.risk import load_lexicon
from app.conversation.extract.words import normalised, words
from app.conversation.facts import Concept


def names(text: str) -> set[str]:
    return {c.name for c in read(text).concepts}


def risks(text: str) -> dict[str, str]:
    return {r.indicator: r.evidence for r in read(text).risks}


@pytest.mark.parametrize(
    ("text", "lemmas"),
    [
        ("he sent them parcels", ["he", "send", "they", "parcel"]),
        ("givin wraps wiv his m8s rn", ["give", "wrap", "with", "his", "mate", "right", "now"]),
        ("u seen the men", ["you", "see", "the", "man"]),
        ("makin him carry", ["make", "he", "carry"]),
    ],
)
def test_words_are_read_as_lemmas_with_sms_spellings_undone(text: str, lemmas: list[str]) -> None:
    assert [w.lemma for w in words(text)] == lemmas


@pytest.mark.parametrize("word", ["robin", "cabin", "heroin", "begin", "pin"])
def test_a_word_ending_in_in_is_not_given_a_g(word: str) -> None:
    assert [w.text for w in words(word)] == [word]


def test_every_word_keeps_the_offsets_of_the_text_as_sent() -> None:
    text = "Givin him PARCELS rn."
    for w in words(text):
        assert text[w.start : w.end].lower().replace("'", "") in ("givin", "him", "parcels", "rn")
    low, where = normalised(text)
    assert low.startswith("giving him parcels right now")
    assert len(where) == len(low)


@pytest.mark.parametrize(
    ("text", "indicator", "evidence"),
    [
        ("boy keeps goin off with a parcel n comin back without it, 2 older lads watch",
         "exploitation", "boy ... goin off with ... parcel ... older"),
        ("little yute shotting for the olders by the barriers", "exploitation", "shotting"),
        ("man givin a young girl sweets and vapes", "exploitation", "man ... givin ... young girl ... sweets"),
        ("hes touching a woman who is asleep", "sexual", "touching ... asleep"),
        ("bloke grabbed her by the hair", "violence", "grabbed her"),
        ("she is on the bridge saying she wants to end it", "self_harm", "on the bridge"),
        ("guy with a cleaver by the gates", "weapon", "cleaver"),
        ("two men forcing a girl into the back of a car", "abduction",
         "forcing a girl into the back of a car"),
        ("a passenger is punching the ticket inspector", "violence", "punching the ticket inspector"),
        ("shes going to throw herself off the viaduct", "self_harm", "throw herself off"),
        ("i have my tablets here and i will take them all", "self_harm",
         "tablets here and i will take them"),
        ("lying on the floor by the toilets, no move", "danger_to_life", "lying on ... no move"),
        ("his hand is trapped in the closing doors", "danger_to_life", "hand is trapped in"),
        ("hes right in her face saying hell slit her throat", "violence", "hell slit her"),
        ("man opposite has his hand down his trousers", "sexual", "hand down his trousers"),
        ("the overhead cable has come down and its sparking", "danger_to_life",
         "overhead cable has come down"),
    ],
)
def test_indicators_from_concepts(text: str, indicator: str, evidence: str) -> None:
    found = risks(text)
    assert found.get(indicator) == evidence
    for part in evidence.split(" ... "):
        assert part in text


@pytest.mark.parametrize(
    "text",
    [
        "he pushed the button for the lift",  # force, but on no one
        "lad carrying his mums shopping bags",  # no one older directing him
        "a man and his son with a bag of shopping",
        "my mate is kicking off about the delay",
        "some lads kicking cans about on plat 1",
        "drunk guy lying on the bench eyes closed snoring",  # down, but only asleep
        "i take my tablets at 9 and then go to bed",  # tablets, no wish to die
        "she will let go of the bag if you ask her",
        "my cable to charge my phone is sparking, can i get a new one",
        "the kids threw the ball to each other",
    ],
)
def test_ordinary_scenes_name_no_harm(text: str) -> None:
    assert not set(risks(text)) & {"exploitation", "violence", "sexual", "abduction", "self_harm"}


@pytest.mark.parametrize(
    "text",
    ["he didnt push her", "nobody was touching her while she was asleep", "he wasnt carrying a knife"],
)
def test_negation_cancels_a_concept(text: str) -> None:
    assert not set(risks(text)) & {"violence", "sexual", "weapon"}


def test_a_negator_inside_a_gap_cancels_the_entry() -> None:
    assert "violence" not in risks("shouting at staff, he hasnt hit anyone")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("packeges", "packages"), ("toouching", "touching"), ("assleep", "asleep"), ("gilr", "girl")],
)
def test_a_misspelling_one_letter_from_a_lexicon_word_is_read_as_it(typed: str, meant: str) -> None:
    assert names(typed) == names(meant)


def test_a_negator_is_never_read_as_a_misspelt_word() -> None:
    assert "weapon" not in risks("he wasnt carrying a knife")


def test_rules_across_the_conversation() -> None:
    first = read("lad about 13 with an older man at the barriers").concepts
    second = read("now hes handing over little packages").concepts
    assert read("lad about 13 with an older man at the barriers").risks == ()
    both = conversation_risks(first + second, child=True)
    assert [r.indicator for r in both] == ["exploitation"]
    # The age the bot gathered counts as the child.
    older = (Concept("older", "man"), Concept("directing", "told"))
    assert conversation_risks(older, child=None) == ()
    assert [r.indicator for r in conversation_risks(older, child=True)] == ["exploitation"]


def test_the_unnamed_concern_and_presence_are_concepts() -> None:
    assert "concern" in names("the girl looks terrified")
    assert "concern" in names("something isnt right here")
    assert "concern" not in names("she is not scared")
    assert "presence" in names("dont text back hes sat next to me")


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "concepts.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "line", "words_"),
    [
        ("concepts:\n  a:\n    - ok\n    - bad(\n", 4, "bad("),
        ("concepts:\n  a:\n    - (x|\n", 3, "(x|"),
        ("concepts:\n  a:\n    - ok\n    - '... gap'\n", 4, "starts and ends with a word"),
        ("concepts:\n  a:\n    - '@nothing'\n", 3, "unknown concept"),
        ("concepts:\n  a: [x]\nindicators:\n  weapon:\n    sentence:\n      - a + b\n", 6,
         "unknown concept 'b'"),
        ("concepts:\n  a: [x]\nindicators:\n  nonsense:\n    sentence: [a]\n", 4, "unknown indicator"),
    ],
)
def test_a_bad_entry_is_refused_with_its_line(tmp_path: Path, body: str, line: int, words_: str) -> None:
    with pytest.raises(LexiconError) as err:
        load_concepts(_write(tmp_path, body))
    assert f"line {line}:" in str(err.value)
    assert words_ in str(err.value)
    assert str(tmp_path) in str(err.value)


def test_a_bad_phrase_entry_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text("indicators:\n  weapon:\n    - knife\n    - kni[fe\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"lexicon.yaml: line 4: weapon: .*kni\[fe"):
        load_lexicon(path)


def test_the_built_in_file_loads_and_parse_checks_rules() -> None:
    c = default_concepts()
    assert {"child", "older", "carrying", "concern", "presence"} <= c.names
    assert c.sentence_rules and c.conversation_rules
    with pytest.raises(LexiconError):
        parse_concepts({"concepts": {}})


@pytest.mark.parametrize(
    "text",
    [
        "meet u at the high street exit of the stn",
        "can of coke zero on plat 2",
        "what goes on line 3 of the form",
        "the 14:32 from york is late, coach 6",
        "platform 14 for the 20:15",
        "paid £20 for a ticket, is that right",
        "killin time at the cafe",
        "dyin for a wee",
        "shot a video of the sunset from the train",
        "got axed again, the 07:12",
        "the line was dead when i rang",
        "im gonna kill him if hes late again",
    ],
)
def test_spellings_and_lemmas_make_no_ordinary_word_a_risk(text: str) -> None:
    from app.conversation.extract.risk import extract_risks

    assert risks(text) == {}
    assert extract_risks(text) == ()
