"""Routing rules: load a YAML or TOML rules file and check it in full before use.

The format is documented in the built-in file, rules.yaml, beside this module. A file that
cannot be used raises RulesError with one line naming the file, the rule and the problem, so
a control room that edits its own rules sees the mistake at start, never in a live case.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from app.conversation.facts import RISK_INDICATORS

BUILTIN_RULES_FILE = Path(__file__).with_name("rules.yaml")
IMMEDIACY_VALUES = ("now", "recent", "past", "unknown")
DECISIONS = ("999", "101")
PRIORITIES = ("P1", "P2", "P3")

_CRS = re.compile(r"^[A-Z]{3}$")
MAX_QUEUE = 32  # what a case's queue column holds
_QUEUE = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_QUEUE}}}$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class RulesError(ValueError):
    """A routing rules file that cannot be used; the message is one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _one_of(value: str, allowed: Sequence[str]) -> str:
    if value in allowed:
        return value
    close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise ValueError(f"has '{value}', which is not one of {', '.join(allowed)}{hint}")


# A BCP 47 primary language subtag: "pl", "cy", "pa".
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


class Conditions(_Strict):
    """A rule's `when`: every condition given must hold. No condition given: matches everything."""

    immediacy: tuple[str, ...] | None = None
    risk_any: tuple[str, ...] | None = None
    risk_all: tuple[str, ...] | None = None
    risk_none: tuple[str, ...] | None = None
    child: bool | None = None
    age_min_at_least: int | None = None
    age_max_below: int | None = None
    station: tuple[str, ...] | None = None
    area: tuple[str, ...] | None = None
    language: tuple[str, ...] | None = None
    discreet: bool | None = None
    concern: bool | None = None
    help_present: bool | None = None
    just_done: bool | None = None
    harmless: bool | None = None
    reads_as_emergency: bool | None = None
    time_between: tuple[dt.time, dt.time] | None = None
    any_of: tuple[Conditions, ...] | None = None
    all_of: tuple[Conditions, ...] | None = None
    none_of: tuple[Conditions, ...] | None = None

    @field_validator(
        "immediacy", "risk_any", "risk_all", "risk_none", "station", "area", "language",
        mode="before",
    )
    @classmethod
    def _lone_value_is_a_list(cls, value: Any) -> Any:
        # `immediacy: now` is what people write; it means [now].
        return [value] if isinstance(value, str) else value

    @field_validator(
        "immediacy", "risk_any", "risk_all", "risk_none", "station", "area", "language",
        "any_of", "all_of", "none_of",
    )
    @classmethod
    def _not_empty(cls, value: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        if value is not None and not value:
            raise ValueError("must list at least one value")
        return value

    @field_validator("immediacy")
    @classmethod
    def _immediacy_known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return value and tuple(_one_of(v, IMMEDIACY_VALUES) for v in value)

    @field_validator("risk_any", "risk_all", "risk_none")
    @classmethod
    def _indicators_known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return value and tuple(_one_of(v, RISK_INDICATORS) for v in value)

    @field_validator("station")
    @classmethod
    def _crs_codes(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        codes = tuple(v.strip().upper() for v in value)
        for code in codes:
            if not _CRS.match(code):
                raise ValueError(f"has '{code}', which is not a three-letter CRS code")
        return codes

    @field_validator("area")
    @classmethod
    def _area_codes(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        codes = tuple(v.strip().upper() for v in value)
        if not all(codes):
            raise ValueError("has an empty area code")
        return codes

    @field_validator("language")
    @classmethod
    def _language_codes(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        codes = tuple(str(v).strip().lower() for v in value)
        for code in codes:
            if code != "other" and not _LANGUAGE.match(code):
                raise ValueError(f"has '{code}', which is not a language code such as pl or cy"
                                 " (or `other`)")
        return codes

    @field_validator("age_min_at_least", "age_max_below")
    @classmethod
    def _plausible_age(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= 130:
            raise ValueError("must be an age in years, 0 to 130")
        return value

    @field_validator("time_between", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValueError('must be two times, e.g. ["22:00", "06:00"]')
        times = []
        for item in value:
            if isinstance(item, dt.time):  # TOML's own local-time values
                times.append(item)
                continue
            if isinstance(item, int):  # YAML 1.1 reads an unquoted 22:00 as 1320
                # ValueError, not TypeError: pydantic reports only ValueError as a message.
                raise ValueError('needs its times in quotes, e.g. ["22:00", "06:00"]')
            match = _HHMM.match(str(item).strip())
            if not match:
                raise ValueError(f"has '{item}', which is not a time such as \"22:00\"")
            times.append(dt.time(int(match[1]), int(match[2])))
        if times[0] == times[1]:
            raise ValueError("has the same start and end time")
        return tuple(times)

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in type(self).model_fields)


class Outcome(_Strict):
    """A rule's `then`."""

    decision: str
    queue: str
    priority: str

    @field_validator("decision", mode="before")
    @classmethod
    def _decision(cls, value: Any) -> str:
        # An unquoted 999 in YAML or TOML is a number; it means the same.
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if text not in DECISIONS:
            raise ValueError('must be "999" or "101"')
        return text

    @field_validator("queue")
    @classmethod
    def _queue(cls, value: str) -> str:
        if not _QUEUE.match(value):
            raise ValueError(f"must be a name of letters, digits, '_' or '-', at most {MAX_QUEUE} "
                             "characters")
        return value

    @field_validator("priority")
    @classmethod
    def _priority(cls, value: str) -> str:
        if value not in PRIORITIES:
            raise ValueError("must be P1, P2 or P3")
        return value


class Rule(_Strict):
    name: str | None = None  # an unnamed rule is called "rule N" by its position
    when: Conditions = Conditions()
    then: Outcome
    reason: str | None = None

    @field_validator("name", "reason")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "\n" in value):
            raise ValueError("must be one line of text")
        return value and value.strip()


class _File(_Strict):
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Rules:
    """A checked, ordered rule set; the last rule is a catch-all."""

    rules: tuple[Rule, ...]
    source: str

    @property
    def queues(self) -> tuple[str, ...]:
        """Every queue a rule routes to, in the file's order: the queues operators watch."""
        return tuple(dict.fromkeys(rule.then.queue for rule in self.rules))


_KNOWN_FIELDS = sorted(
    {*Conditions.model_fields, *Outcome.model_fields, *Rule.model_fields, *_File.model_fields}
)


def load_rules(path: str | None = None) -> Rules:
    """Load and check a rules file (.yaml, .yml or .toml); None loads the built-in rules."""
    file = Path(path) if path is not None else BUILTIN_RULES_FILE
    suffix = file.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml"):
        raise RulesError(f"routing rules {file}: use a .yaml, .yml or .toml file")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"routing rules {file}: cannot read it ({exc})") from None
    return parse_rules(text, "toml" if suffix == ".toml" else "yaml", source=str(file))


def parse_rules(text: str, fmt: str, *, source: str = "<text>") -> Rules:
    """Check rules given as text in `fmt` ("yaml" or "toml"); `source` names them in errors."""
    prefix = f"routing rules {source}"
    data = _parse(text, fmt, prefix)
    if data is None or data == {}:
        raise RulesError(f"{prefix}: the file is empty; it needs a 'rules' list")
    if not isinstance(data, dict):
        raise RulesError(f"{prefix}: the file must be a mapping with a 'rules' list")
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        raise RulesError(f"{prefix}: {_describe(exc, data)}") from None
    rules = tuple(
        rule if rule.name else rule.model_copy(update={"name": f"rule {i + 1}"})
        for i, rule in enumerate(parsed.rules)
    )
    problem = _check_order(rules)
    if problem:
        raise RulesError(f"{prefix}: {problem}")
    return Rules(rules=rules, source=source)


def _parse(text: str, fmt: str, prefix: str) -> Any:
    if fmt == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RulesError(f"{prefix}: not valid TOML ({exc})") from None
    if fmt != "yaml":
        raise RulesError(f"{prefix}: unknown format '{fmt}'")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        what = getattr(exc, "problem", None) or "cannot be read"
        raise RulesError(f"{prefix}: not valid YAML{where}: {what}") from None


def _label(index: int, rule: Rule | Any) -> str:
    name = (
        rule.name
        if isinstance(rule, Rule)
        else (rule.get("name") if isinstance(rule, dict) else None)
    )
    default = f"rule {index + 1}"
    return (
        f"rule '{name}'" if isinstance(name, str) and name.strip() not in ("", default) else default
    )


def _check_order(rules: tuple[Rule, ...]) -> str | None:
    if not rules:
        return "there are no rules; the last one must be a catch-all (no 'when')"
    seen: set[str | None] = set()
    for i, rule in enumerate(rules):
        label = _label(i, rule)
        if rule.name in seen:
            return f"{label}: the name is used by an earlier rule"
        seen.add(rule.name)
        outcome = rule.then
        if outcome.decision == "999" and outcome.priority != "P1":
            return f"{label}: a 999 decision must have priority P1"
        if outcome.decision == "101" and outcome.priority == "P1":
            return f"{label}: priority P1 is for 999 decisions; a 101 is P2 or P3"
        if rule.when.is_empty() and i < len(rules) - 1:
            return f"{label}: has no conditions, so the rules after it could never fire"
    if not rules[-1].when.is_empty():
        return f"{_label(len(rules) - 1, rules[-1])}: the last rule must be a catch-all (no 'when')"
    return None


def _describe(exc: ValidationError, data: dict[str, Any]) -> str:
    """The first error as words: 'rule 'x': unknown field 'imediacy' (did you mean ...)'."""
    err = exc.errors()[0]
    loc = list(err["loc"])
    label = ""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        raw = data.get("rules")
        raw_rule = raw[loc[1]] if isinstance(raw, list) and loc[1] < len(raw) else None
        label = _label(loc[1], raw_rule) + ": "
        loc = loc[2:]
    strs = [i for i, part in enumerate(loc) if isinstance(part, str)]
    field = loc[strs[-1]] if strs else None
    context = _context(loc[: strs[-1]] if strs else loc)
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(field), _KNOWN_FIELDS, n=1, cutoff=0.75)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{label}unknown field '{field}'{context}{hint}"
    if kind == "missing":
        return f"{label}missing field '{field}'{context}"
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        return f"{label}{field} {msg}{context}" if field else f"{label}{msg}{context}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        if field in ("any_of", "all_of", "none_of"):
            msg = "must list mappings of conditions, e.g. [{immediacy: [now]}]"
        else:
            msg = "must be a mapping" + (" of conditions" if field == "when" else "")
        return f"{label}{field} {msg}{context}" if field else f"{label}{msg}{context}"
    if field is None:
        return f"{label}{_lower(msg)}{context}"
    return f"{label}{field}: {_lower(msg)}{context}"


def _context(parts: list[Any]) -> str:
    # `when`/`then` are implied by the field's name; list positions are shown from 1.
    if parts and parts[0] in ("when", "then"):
        parts = parts[1:]
    words = [f"#{p + 1}" if isinstance(p, int) else str(p) for p in parts]
    return f" (in {' '.join(words)})" if words else ""


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]
