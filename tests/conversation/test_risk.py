"""Risk indicators: the lexicon, its pattern language, negation and the index that speeds it up."""

from __future__ import annotations

import re

import pytest

from app.conversation.extract.concepts import parse_concepts
from app.conversation.extract.risk import (
    DEFAULT_LEXICON,
    LexiconError,
    compile_pattern,
    default_lexicon,
    extract_risks,
    is_negated,
    lead_keys,
    load_lexicon,
    parse_lexicon,
)
from app.conversation.facts import RISK_INDICATORS


def indicators(text: str) -> set[str]:
    return {r.indicator for r in extract_risks(text)}


FOUND = [
    ("guy with a knife at waterloo", "weapon", "knife"),
    ("lad flashing a zombie knife to his mates", "weapon", "zombie knife"),
    ("he pulled out a blade", "weapon", "blade"),
    ("someone has a shank on him", "weapon", "shank"),
    ("man waving a machete about on the platform", "weapon", "machete"),
    ("two lads having a fight", "violence", "fight"),
    ("group of lads kicking someone on the ground", "violence", "group of lads kicking someone"),
    ("a man is hitting his girlfriend", "violence", "is hitting"),
    ("shouting at a woman and just slapped her", "violence", "shouting at a woman and just slapped"),
    ("lad about 16 getting threatened by a man", "violence", "threatened"),
    ("man touched her up on the escalator", "sexual", "touched her up"),
    ("a man exposed himself to me", "sexual", "exposed himself"),
    ("a man was flashing at women", "sexual", "flashing"),
    ("taking pictures up girls skirts", "sexual", "pictures up girls skirts"),
    ("caught him upskirting", "sexual", "upskirting"),
    ("man just grabbed a girls bum", "sexual", "grabbed a girls bum"),
    ("keeps touching my leg", "sexual", "touching my"),
    ("they dragged her into a car", "abduction", "dragged her into a car"),
    ("a man tried to take a child off the train", "abduction", "tried to take a child"),
    ("someone is going to jump from the bridge", "self_harm", "going to jump"),
    ("says she wants to die", "self_harm", "wants to die"),
    ("girl self harming in the toilets", "self_harm", "self harming"),
    ("sat on the edge of platform 3 with her legs over", "self_harm", "sat on the edge"),
    ("could be county lines", "exploitation", "county lines"),
    ("reckon hes running stuff for them", "exploitation", "running stuff"),
    ("they are cuckooing his flat", "exploitation", "cuckooing"),
    ("hes trapping for them", "exploitation", "trapping"),
    ("he had a burner phone", "exploitation", "burner"),
    ("they keep giving him packages to take to people", "exploitation", "giving him packages"),
    ("making a kid of about 13 carry a bag", "exploitation", "making a kid of about 13 carry"),
    ("saw a lad get handed a load of cash by 2 men", "exploitation", "get handed a load of cash"),
    ("been told to take a bag up to lancaster", "exploitation", "told to take"),
    ("think hes being used to sell", "exploitation", "being used to"),
    ("looks like hes dealing for him", "exploitation", "dealing for him"),
    ("think hes being groomed", "exploitation", "groomed"),
    ("girl crying on her own", "vulnerability", "crying"),
    ("alone and scared", "vulnerability", "alone and scared"),
    ("boy wandering alone late at night", "vulnerability", "wandering alone"),
    ("she looks out of it", "vulnerability", "looks out of it"),
    ("bloke selling weed on the stairs", "drugs", "selling weed"),
    ("drunk guy shouting abuse at people", "harassment", "shouting abuse"),
    ("pestering them for money", "harassment", "pestering"),
    ("a man has followed me off the train", "harassment", "followed me off"),
    ("my suitcase got nicked", "theft", "nicked"),
    ("pickpocket on the tube", "theft", "pickpocket"),
    ("someone stole my bike", "theft", "stole"),
    ("group of drunk blokes singing and swearing", "antisocial", "drunk"),
    ("someones been tagging the trains", "antisocial", "tagging"),
    ("a man rubbed up against me in the carriage", "sexual", "rubbed up against me"),
    ("a man keeps asking my daughter for pics", "exploitation", "asking my daughter for pics"),
    ("older man offering girls a lift in his car", "exploitation", "offering girls a lift"),
    ("kid holding a big wad of cash and two phones", "exploitation", "wad of cash"),
    (
        "saw a kid carrying a parcel for an older man",
        "exploitation",
        "carrying a parcel for an older",
    ),
    ("girls getting given vapes by older lads", "exploitation", "getting given vapes"),
    ("a boy was taken from the platform by a man", "abduction", "was taken from"),
    ("lads on the roof of the train", "self_harm", "on the roof of the train"),
    ("a lad is being bullied by older boys", "harassment", "bullied"),
    ("someone tried to grab my bag", "theft", "tried to grab my"),
    ("a man has been following my 13yo daughter", "harassment", "following my 13yo daughter"),
    ("lad being robbed at knifepoint", "weapon", "knifepoint"),
    ("keeps sending me rude pictures", "sexual", "rude pictures"),
    ("her ex has taken their child", "abduction", "taken their child"),
    ("boys getting money off younger kids", "theft", "getting money off younger"),
    ("a lad hand over a package to a man in a car", "exploitation", "hand over a package to a man"),
]


@pytest.mark.parametrize(("text", "indicator", "evidence"), FOUND)
def test_finds_indicator_with_evidence(text: str, indicator: str, evidence: str) -> None:
    risks = {r.indicator: r.evidence for r in extract_risks(text)}
    assert risks.get(indicator) == evidence


NEGATED = [
    ("no knife", "weapon"),
    ("2 lads scrapping on platform 2, no knives or anything", "weapon"),
    ("hes not hurt, just shaken", "violence"),
    ("he hasnt hit anyone and i didnt see a weapon", "violence"),
    ("he hasnt hit anyone and i didnt see a weapon", "weapon"),
    ("i didn't see a weapon", "weapon"),
    ("he was without a weapon", "weapon"),
    ("drunk guy, he hasnt touched anyone", "sexual"),
    ("no weapons seen", "weapon"),
    ("never saw a blade", "weapon"),
    ("didnt see a knife or a gun", "weapon"),
    ("i dont think he had a knife", "weapon"),
    ("he wasnt carrying a knife", "weapon"),
    ("no sign of a knife", "weapon"),
    ("there was no fight", "violence"),
    ("no one has been hurt", "violence"),
    ("nothing was stolen", "theft"),
    ("no drugs involved", "drugs"),
]


@pytest.mark.parametrize(("text", "indicator"), NEGATED)
def test_negation_removes_indicator(text: str, indicator: str) -> None:
    assert indicator not in indicators(text)


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("no knife but he punched him", "violence"),  # "but" ends the negated clause
        ("nobody helped when he punched her", "violence"),
        ("no one stopped him from stabbing the guy", "weapon"),  # too far back
        ("she wont stop crying", "vulnerability"),  # "won't stop" intensifies
        ("dont know if he has a knife", "weapon"),  # uncertainty is still a report
        ("not sure but i think he had a knife", "weapon"),
        ("no knife. he had a machete", "weapon"),
    ],
)
def test_negation_stays_in_its_clause(text: str, indicator: str) -> None:
    assert indicator in indicators(text)


@pytest.mark.parametrize(
    "text",
    [
        "someone had a panic attack",
        "armed police arrived",
        "im on the high street",
        "can of coke please",
        "he hit the floor hard",
        "missing my train",
        "the lost property office",
        "i lost my wallet",
        "my mate is kicking off about the delay",  # nuisance, not violence
    ],
)
def test_ordinary_words_are_not_severe(text: str) -> None:
    assert not indicators(text) & {"weapon", "violence", "sexual", "self_harm", "abduction"}


def test_flashing_a_knife_is_a_weapon_not_exposure() -> None:
    assert indicators("lad flashing a zombie knife to his mates") == {"weapon"}


def test_one_risk_per_indicator_first_evidence() -> None:
    risks = extract_risks("he had a knife, then a machete, then another knife")
    assert [r.indicator for r in risks] == ["weapon"]
    assert risks[0].evidence == "knife"


def test_negated_first_mention_gives_way_to_a_later_one() -> None:
    risks = extract_risks("no knife at first, then he pulled a blade")
    assert [(r.indicator, r.evidence) for r in risks] == [("weapon", "blade")]


def test_order_follows_risk_indicators() -> None:
    risks = extract_risks("drunk lad stole a phone and punched a man with a knife")
    order = [RISK_INDICATORS.index(r.indicator) for r in risks]
    assert order == sorted(order) and len(order) >= 4


def test_evidence_keeps_the_texters_case() -> None:
    (risk,) = extract_risks("Guy with a KNIFE")
    assert risk.evidence == "KNIFE"


# ---------------------------------------------------------------- the pattern language


@pytest.mark.parametrize(
    ("pattern", "text", "matched"),
    [
        ("knife", "a knife here", "knife"),
        ("knife", "knifed", None),
        ("stab*", "he stabbed him", "stabbed"),
        ("zombie knife", "zombie   knife", "zombie   knife"),
        ("(him|her|the kid) up", "beat the kid up", "the kid up"),
        ("(very|really)? drunk", "really drunk", "really drunk"),
        ("(very|really)? drunk", "drunk", "drunk"),
        ("beat (him|her) (up)?", "beat him", "beat him"),
        ("giving ... bags", "giving him two small bags", "giving him two small bags"),
        ("giving ... bags", "giving him. bags", None),  # a gap stays in its sentence
        ("giving ... bags", "giving a b c d e f bags", None),  # at most five words
        ("kick* !(off)", "kicking off", None),
        ("kick* !(off)", "kicking him", "kicking"),
        ("don't reply", "dont reply", "dont reply"),
        ("don't reply", "don’t reply", "don’t reply"),
        ("self-harm", "self harm", "self harm"),
        ("self-harm", "selfharm", "selfharm"),
    ],
)
def test_pattern_language(pattern: str, text: str, matched: str | None) -> None:
    m = re.search(compile_pattern(pattern), text)
    assert (m.group() if m else None) == matched


@pytest.mark.parametrize(
    ("pattern", "keys"),
    [
        ("knife", {("knife", False)}),
        ("stab*", {("stab", True)}),
        ("zombie knife", {("zombie", False)}),
        ("(very|really)? drunk", {("very", False), ("really", False), ("drunk", False)}),
        ("self-harm*", {("self", True)}),
        ("don't reply", {("dont", False)}),
        ("(lost (his|her)|no) money", {("lost", False), ("no", False)}),
    ],
)
def test_lead_keys(pattern: str, keys: set[tuple[str, bool]]) -> None:
    assert lead_keys(pattern) == keys


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"indicators": {"nonsense": ["x"]}},
        {"indicators": {"weapon": ["(knife"]}},
        {"indicators": {"weapon": ["... knife"]}},
        {"indicators": {"weapon": [""]}},
        {"indicators": {"weapon": ["(a)?"]}},
        {"indicators": {"weapon": ["kn\\w+"]}},  # regular expressions are not the language
        {"indicators": {"weapon": ["knife"]}, "negation": {"negators": [False]}},
    ],
)
def test_malformed_lexicon_is_refused(data: dict) -> None:
    with pytest.raises(LexiconError):
        parse_lexicon(data)


def test_lexicon_covers_every_indicator() -> None:
    lex = load_lexicon(DEFAULT_LEXICON)
    entries = {e.indicator for group in (lex.exact, lex.stems) for es in group.values() for e in es}
    assert entries == set(RISK_INDICATORS)


def test_a_custom_lexicon_can_be_passed() -> None:
    lex = parse_lexicon({"indicators": {"weapon": ["spork"]}, "negation": {"negators": ["no"]}})
    none = parse_concepts({"concepts": {"none": ["none"]}})
    assert [r.indicator for r in extract_risks("a spork!", lex, none)] == ["weapon"]
    assert extract_risks("no spork", lex, none) == ()
    assert extract_risks("a knife", lex, none) == ()


def test_is_negated_window() -> None:
    lex = default_lexicon()
    text = "no one on the platform saw him pull a knife"
    assert not is_negated(text, text.index("knife"), lex)  # four counted words: too far
    text = "no sign of any knife"
    assert is_negated(text, text.index("knife"), lex)


def _brute_force(text: str) -> set[str]:
    """Every entry tried at every position: what the first-word index must agree with."""
    lex = default_lexicon()
    low = text.lower()
    if lex.ignore is not None:
        low = lex.ignore.sub(lambda m: " " * len(m.group()), low)
    entries = {id(e): e for g in (lex.exact, lex.stems) for es in g.values() for e in es}
    found = set()
    for entry in entries.values():
        for m in entry.regex.finditer(low):
            if not is_negated(low, m.start(), lex):
                found.add(entry.indicator)
                break
    return found


@pytest.mark.parametrize("text", [t for t, _, _ in FOUND] + [t for t, _ in NEGATED])
def test_index_agrees_with_trying_every_entry(text: str) -> None:
    phrases_only = parse_concepts({"concepts": {"none": ["none"]}})
    found = {r.indicator for r in extract_risks(text, concepts=phrases_only)}
    assert found == _brute_force(text)
