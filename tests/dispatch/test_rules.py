"""Rules files: a custom file changes routing without code; a broken file is named plainly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.dispatch.decide import DispatchFacts, decide
from app.dispatch.rules import BUILTIN_RULES_FILE, RulesError, load_rules

CUSTOM_YAML = """
rules:
  - name: severe-now
    when:
      immediacy: [now]
      risk_any: [weapon, violence]
    then: {decision: "999", queue: emergency, priority: P1}
  - name: scotland
    when: {area: [d]}
    then: {decision: "101", queue: scotland, priority: P2}
  - name: night-kings-cross
    reason: late at a busy terminus
    when:
      station: [kgx]
      time_between: ["22:00", "06:00"]
    then: {decision: "101", queue: night-desk, priority: P2}
  - name: discreet-child
    when:
      discreet: true
      age_max_below: 16
    then: {decision: "101", queue: safeguarding, priority: P2}
  - name: older-quiet
    when:
      age_min_at_least: 65
      risk_none: [theft]
      none_of: [{immediacy: [past]}]
    then: {decision: "101", queue: welfare, priority: P2}
  - name: both
    when: {risk_all: [drugs, harassment]}
    then: {decision: "101", queue: general, priority: P2}
  - name: routine
    then: {decision: 101, queue: general, priority: P3}
"""

CUSTOM_TOML = """
[[rules]]
name = "severe-now"
when = { immediacy = ["now"], risk_any = ["weapon", "violence"] }
then = { decision = "999", queue = "emergency", priority = "P1" }

[[rules]]
name = "scotland"
when = { area = ["D"] }
then = { decision = "101", queue = "scotland", priority = "P2" }

[[rules]]
name = "night-kings-cross"
reason = "late at a busy terminus"
[rules.when]
station = ["KGX"]
time_between = [22:00:00, "06:00"]
[rules.then]
decision = "101"
queue = "night-desk"
priority = "P2"

[[rules]]
name = "discreet-child"
when = { discreet = true, age_max_below = 16 }
then = { decision = "101", queue = "safeguarding", priority = "P2" }

[[rules]]
name = "older-quiet"
when = { age_min_at_least = 65, risk_none = ["theft"], none_of = [{ immediacy = ["past"] }] }
then = { decision = "101", queue = "welfare", priority = "P2" }

[[rules]]
name = "both"
when = { risk_all = ["drugs", "harassment"] }
then = { decision = "101", queue = "general", priority = "P2" }

[[rules]]
name = "routine"
then = { decision = 101, queue = "general", priority = "P3" }
"""


def at(**kw: object) -> DispatchFacts:
    risks = tuple(kw.pop("risks", ()))  # type: ignore[arg-type]
    return DispatchFacts(risks=frozenset(risks), evidence=tuple((r, r) for r in risks), **kw)  # type: ignore[arg-type]


ROUTES = [
    (at(area="D"), "scotland", "scotland"),
    (at(area="B"), "routine", "general"),
    (at(area=None), "routine", "general"),
    (at(area="D", immediacy="now", risks=("weapon",)), "severe-now", "emergency"),  # order
    (at(station_crs="KGX", local_time=dt.time(23, 30)), "night-kings-cross", "night-desk"),
    (at(station_crs="KGX", local_time=dt.time(5, 59)), "night-kings-cross", "night-desk"),
    (at(station_crs="KGX", local_time=dt.time(22, 0)), "night-kings-cross", "night-desk"),
    (at(station_crs="KGX", local_time=dt.time(6, 0)), "routine", "general"),  # end excluded
    (at(station_crs="KGX", local_time=dt.time(14, 0)), "routine", "general"),
    (at(station_crs="KGX", local_time=None), "routine", "general"),  # unknown hour
    (at(station_crs="CLJ", local_time=dt.time(23, 30)), "routine", "general"),
    (at(discreet=True, age_max=15), "discreet-child", "safeguarding"),
    (at(discreet=True, age_max=16), "routine", "general"),  # below, not at
    (at(discreet=True, age_max=None), "routine", "general"),
    (at(discreet=False, age_max=12), "routine", "general"),
    (at(age_min=65), "older-quiet", "welfare"),
    (at(age_min=64), "routine", "general"),
    (at(age_min=70, risks=("theft",)), "routine", "general"),
    (at(age_min=70, immediacy="past"), "routine", "general"),
    (at(age_min=70, immediacy="now"), "older-quiet", "welfare"),
    (at(risks=("drugs", "harassment")), "both", "general"),
    (at(risks=("drugs",)), "routine", "general"),
]


@pytest.fixture(params=["yaml", "toml"])
def custom(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / f"rules.{request.param}"
    path.write_text(CUSTOM_YAML if request.param == "yaml" else CUSTOM_TOML)
    return load_rules(str(path))


@pytest.mark.parametrize(("f", "rule", "queue"), ROUTES)
def test_custom_file_changes_routing(custom, f: DispatchFacts, rule: str, queue: str) -> None:  # type: ignore[no-untyped-def]
    got = decide(f, custom)
    assert (got.rule, got.queue) == (rule, queue)


def test_yaml_and_toml_say_the_same_thing(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(CUSTOM_YAML)
    (tmp_path / "a.toml").write_text(CUSTOM_TOML)
    assert load_rules(str(tmp_path / "a.yaml")).rules == load_rules(str(tmp_path / "a.toml")).rules


def test_custom_reasons(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(CUSTOM_YAML)
    rules = load_rules(str(tmp_path / "r.yml"))
    night = decide(
        at(station_crs="KGX", station_name="London Kings Cross", local_time=dt.time(23, 30)), rules
    )
    assert night.reasons == (
        "late at a busy terminus",
        "at London Kings Cross (KGX)",
        "23:30, between 22:00 and 06:00",
    )
    assert decide(at(area="D"), rules).reasons == ("area D",)
    assert decide(at(discreet=True, age_max=14, age_text="14"), rules).reasons == (
        "under 16 (14)",
        "texter can't talk freely",
    )


def test_an_unnamed_rule_is_named_by_its_position(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - when: {immediacy: now}\n    then: {decision: '999', queue: e, priority: P1}\n"
        "  - then: {decision: '101', queue: g, priority: P3}\n"
    )
    rules = load_rules(str(tmp_path / "r.yaml"))
    assert decide(at(immediacy="now"), rules).rule == "rule 1"
    assert decide(at(immediacy="past"), rules).rule == "rule 2"


def test_builtin_is_the_default_and_ships_beside_the_code() -> None:
    assert BUILTIN_RULES_FILE.exists()
    rules = load_rules(None)
    assert rules.source == str(BUILTIN_RULES_FILE)
    assert [r.name for r in rules.rules] == [
        "severe-now",
        "child-at-risk-now",
        "child-now-concern",
        "reads-as-emergency",
        "child-safeguarding",
        "now-or-recent",
        "routine",
    ]


OK_THEN = "{decision: '101', queue: general, priority: P3}"
CATCH_ALL = f"  - name: routine\n    then: {OK_THEN}\n"


def rule_x(when: str | None = None, then: str = OK_THEN) -> str:
    """A file with one rule named x, then the catch-all."""
    when_line = f"    when: {when}\n" if when else ""
    return f"rules:\n  - name: x\n{when_line}    then: {then}\n{CATCH_ALL}"


BROKEN = [
    # (file text, words the one-line error must contain)
    ("rules:\n  - name: x\n    when: {immediacy: [now]\n", ["not valid YAML", "line"]),
    ("", ["empty"]),
    ("# only a comment\n", ["empty"]),
    ("rules: []\n", ["no rules"]),
    ("- name: x\n", ["mapping", "'rules'"]),
    (
        rule_x("{imediacy: [now]}"),
        ["rule 'x'", "unknown field 'imediacy'", "did you mean 'immediacy'"],
    ),
    (
        rule_x("{child: true}").replace(
            "  - name: routine",
            "  - when: {child: true}\n    then: {decision: '101', queue: g, priority: P4}\n"
            "  - name: routine",
        ),
        ["rule 2", "priority must be P1, P2 or P3"],
    ),
    (
        rule_x("{child: true}", "{decision: '101', queue: g, priority: P9}"),
        ["rule 'x'", "priority must be P1, P2 or P3"],
    ),
    (
        "rules:\n  - name: last\n    when: {immediacy: [now]}\n    then: " + OK_THEN + "\n",
        ["rule 'last'", "catch-all"],
    ),
    (rule_x(None), ["rule 'x'", "could never fire"]),
    (rule_x("{risk_any: [knife]}"), ["rule 'x'", "risk_any", "'knife'"]),
    (
        rule_x("{any_of: [{immediacy: [soon]}]}"),
        ["rule 'x'", "immediacy", "'soon'", "any_of #1"],
    ),
    (rule_x("{time_between: [22:00, 06:00]}"), ["rule 'x'", "time_between", "quotes"]),
    (rule_x("{station: [London]}"), ["rule 'x'", "CRS"]),
    (rule_x("{any_of: [now]}"), ["rule 'x'", "any_of must list mappings"]),
    (rule_x("[child]"), ["rule 'x'", "when must be a mapping"]),
    (rule_x("{child: true}", "{decision: '101', queue: a b, priority: P2}"), ["queue must"]),
    (rule_x("{child: true}", "{decision: '101', queue: " + "q" * 33 + ", priority: P2}"),
     ["queue must", "at most 32"]),
    (
        rule_x("{child: true}", "{decision: '999', queue: e, priority: P2}"),
        ["rule 'x'", "999", "P1"],
    ),
    (
        rule_x("{child: true}", "{decision: '112', queue: e, priority: P1}"),
        ["rule 'x'", "decision must be"],
    ),
    (rule_x("{child: true}", "{queue: e, priority: P1}"), ["rule 'x'", "missing field 'decision'"]),
    (
        rule_x("{child: true}").replace("name: x", "name: routine"),
        ["rule 'routine'", "name is used"],
    ),
    ("rules:\n" + CATCH_ALL + "version: 2\n", ["unknown field 'version'"]),
]


@pytest.mark.parametrize(("text", "words"), BROKEN)
def test_broken_yaml_files_are_named_plainly(tmp_path: Path, text: str, words: list[str]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(RulesError) as caught:
        load_rules(str(path))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"routing rules {path}: ")
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[[rules]\nname = 'x'\n", ["not valid TOML"]),
        ("", ["empty"]),
        (
            (
                "[[rules]]\nname = 'x'\nwhen = { imediacy = ['now'] }\n"
                "then = { decision = '999', queue = 'e', priority = 'P1' }\n"
            ),
            ["rule 'x'", "unknown field 'imediacy'"],
        ),
        (
            "[[rules]]\nname = 'r'\nthen = { decision = '101', queue = 'g', priority = 'P5' }\n",
            ["rule 'r'", "priority must be P1, P2 or P3"],
        ),
    ],
)
def test_broken_toml_files_are_named_plainly(tmp_path: Path, text: str, words: list[str]) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(RulesError) as caught:
        load_rules(str(path))
    for word in words:
        assert word in str(caught.value)


def test_unreadable_or_unknown_kind_of_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(str(tmp_path / "missing.yaml"))
    (tmp_path / "rules.json").write_text("{}")
    with pytest.raises(RulesError, match=r"\.yaml, \.yml or \.toml"):
        load_rules(str(tmp_path / "rules.json"))
