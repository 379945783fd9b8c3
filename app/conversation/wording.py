"""The bot's wording: every text it sends, loaded from YAML and replaceable by configuration."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml

from app.conversation.gsm import is_gsm7, segments

BUILT_IN = Path(__file__).with_name("wording.yaml")

# key -> placeholders it must contain. {reference} is allowed in every text.
REQUIRED: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "ack": frozenset({"reference"}),
        "ack_severe": frozenset({"reference"}),
        "reopened": frozenset({"reference"}),
        "severe_advice": frozenset(),
        "emergency_advice": frozenset(),
        "ask_what": frozenset(),
        "reask_what": frozenset(),
        "ask_location": frozenset(),
        "reask_location": frozenset(),
        "confirm_location": frozenset({"choices"}),
        "reconfirm_location": frozenset({"choices"}),
        "ask_age": frozenset(),
        "reask_age": frozenset(),
        "ask_immediacy": frozenset(),
        "reask_immediacy": frozenset(),
        "done": frozenset(),
        "stop_confirm": frozenset(),
        "start_confirm": frozenset(),
        "help": frozenset(),
        "interpreter": frozenset(),
    }
)
# The section of a wording file that holds the Welsh texts, key for key as the English.
WELSH_SECTION = "cy"
ALWAYS_ALLOWED = frozenset({"reference"})
LONGEST_REFERENCE = "TL-261128-99999"


class WordingError(ValueError):
    """A wording file that cannot be used: unknown key, bad placeholder, not GSM-7, too long."""


@dataclass(frozen=True)
class Wording:
    templates: Mapping[str, str]  # English
    welsh: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def render(self, key: str, language: str = "en", **params: str) -> str:
        table = self.welsh if language == WELSH_SECTION and key in self.welsh else self.templates
        return table[key].format(**params)


def _placeholders(key: str, template: str) -> set[str]:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise WordingError(f"wording {key!r}: {exc}") from None
    for name in fields:
        if not name.isidentifier():
            raise WordingError(f"wording {key!r}: placeholder {{{name}}} is not a plain name")
    return set(fields)


def _check(key: str, template: object) -> str:
    if key not in REQUIRED:
        raise WordingError(f"unknown wording key {key!r} (known: {', '.join(sorted(REQUIRED))})")
    if not isinstance(template, str) or not template.strip():
        raise WordingError(f"wording {key!r} must be a non-empty string")
    found = _placeholders(key, template)
    required = REQUIRED[key]
    missing = required - found
    if missing:
        raise WordingError(f"wording {key!r} lacks placeholder {{{min(missing)}}}")
    unknown = found - required - ALWAYS_ALLOWED
    if unknown:
        raise WordingError(f"wording {key!r} has unknown placeholder {{{min(unknown)}}}")
    bad = next((ch for ch in template if not is_gsm7(ch)), None)
    if bad is not None:
        raise WordingError(f"wording {key!r} is not plain GSM-7 (character {bad!r})")
    sample = template.format(**{name: "" for name in found} | {"reference": LONGEST_REFERENCE})
    if segments(sample)[0] > 2:
        raise WordingError(f"wording {key!r} is longer than two text segments")
    return template


def _read(path: Path) -> dict[str, object]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WordingError(f"cannot read wording file {str(path)!r}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise WordingError(f"wording file {str(path)!r} is not valid YAML: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise WordingError(f"wording file {str(path)!r} must be a mapping of key: text")
    return data


def _split(data: dict[str, object], where: str) -> tuple[dict[str, str], dict[str, str]]:
    """(English, Welsh) of one file: the Welsh sit under `cy:`, with the same keys."""
    welsh = data.get(WELSH_SECTION) or {}
    if not isinstance(welsh, dict):
        raise WordingError(f"wording file {where!r}: {WELSH_SECTION}: must be a mapping of key: text")
    english = {str(k): _check(str(k), v) for k, v in data.items() if k != WELSH_SECTION}
    return english, {str(k): _check(str(k), v) for k, v in welsh.items()}


def load_wording(path: str | None = None) -> Wording:
    """The built-in wording, with the entries of the file at `path` (if any) replacing it:
    English keys at the top, Welsh under `cy:`; either language may be replaced alone."""
    templates, welsh = _split(_read(BUILT_IN), str(BUILT_IN))
    if set(templates) != set(REQUIRED) or set(welsh) != set(REQUIRED):
        raise WordingError("built-in wording is incomplete")  # a packaging mistake
    if path is not None:
        more, more_welsh = _split(_read(Path(path)), path)
        templates.update(more)
        welsh.update(more_welsh)
    return Wording(MappingProxyType(templates), MappingProxyType(welsh))
