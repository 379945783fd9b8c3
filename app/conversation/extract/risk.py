"""Risk indicators in a text, from the lexicon in app/conversation/lexicon.yaml.

The lexicon is data, not code: a control room can add a slang term without a programmer.
Its small pattern language (words, stems, alternatives, optional groups, gaps, a trailing
"not followed by") is documented at the top of the YAML file and compiled here into one
regular expression per indicator, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.conversation.extract import lexicon_file
from app.conversation.extract.concepts import Concepts, read
from app.conversation.extract.lexicon_file import LexiconError, split_alternatives, where
from app.conversation.extract.words import normalised
from app.conversation.facts import RISK_INDICATORS, Risk

DEFAULT_LEXICON = Path(__file__).resolve().parent.parent / "lexicon.yaml"

# A gap stays inside one clause: it never runs over . ! ? ; or a comma.
_GAP = r"(?:\s+[^\s.!?;,]+){0,5}?"
_TOKEN = re.compile(r"[\w'’]+|[.!?;,:\n]")
_WORD = re.compile(r"(?<!\w)\w[\w'’]*")
_PUNCT_BREAKS = frozenset(".!?;,:\n")


@dataclass(frozen=True)
class Entry:
    indicator: str
    source: str
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Lexicon:
    # Entries are found by the first word they can start with, so that a text is tried only
    # against the few entries its words could begin (a single big alternation per indicator
    # is tried at every character and costs about a millisecond a text).
    exact: dict[str, tuple[Entry, ...]]
    stems: dict[str, tuple[Entry, ...]]
    ignore: re.Pattern[str] | None
    negators: frozenset[str]
    filler: frozenset[str]
    breaks: frozenset[str]
    window: int


def _split_top(pattern: str) -> list[str]:
    """Split on spaces that are not inside parentheses."""
    tokens: list[str] = []
    depth, current = 0, []
    for ch in pattern:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise LexiconError(f"unbalanced ')' in {pattern!r}")
        if ch == " " and depth == 0:
            if current:
                tokens.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth:
        raise LexiconError(f"unbalanced '(' in {pattern!r}")
    if current:
        tokens.append("".join(current))
    return tokens


def _chars(token: str) -> str:
    out: list[str] = []
    for ch in token:
        if ch == "(":
            out.append("(?:")
        elif ch in ")|?":
            out.append(ch)
        elif ch == "*":
            out.append(r"\w*")
        elif ch in "'’":
            out.append("['’]?")
        elif ch == "-":
            out.append("[- ]?")
        elif ch == " ":
            out.append(r"\s+")
        elif ch == "!":
            raise LexiconError("'!' may only start the last token")
        elif ch in "\\[]{}^$+":
            raise LexiconError(f"{ch!r} is not part of the lexicon's pattern language: {token!r}")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def compile_pattern(pattern: str) -> str:
    """One lexicon entry as a regular expression (for the lower-cased text)."""
    tokens = _split_top(pattern.strip().lower())
    if not tokens:
        raise LexiconError("empty pattern")
    lookahead = ""
    if tokens[-1].startswith("!"):
        lookahead = r"(?!\s+" + _chars(tokens.pop()[1:]) + r"(?!\w))"
    if not tokens or tokens[0] == "..." or tokens[-1] == "...":
        raise LexiconError(f"pattern must start and end with a word: {pattern!r}")
    if all(_is_optional(t) for t in tokens):
        raise LexiconError(f"pattern needs at least one word that is not optional: {pattern!r}")
    parts = []
    after_word = False  # the next word needs the spaces before it
    for token in tokens:
        if token == "...":
            parts.append(_GAP)
        elif _is_optional(token):
            group = _chars(token[:-1])
            parts.append(r"(?:\s+" + group + ")?" if after_word else "(?:" + group + r"\s+)?")
        else:
            parts.append((r"\s+" if after_word else "") + _chars(token))
            after_word = True
    return r"(?<!\w)" + "".join(parts) + r"(?!\w)" + lookahead


def _is_optional(token: str) -> bool:
    return token.startswith("(") and token.endswith(")?") and _balanced_group(token[:-1])


def _balanced_group(token: str) -> bool:
    """True when the token is one group, "(...)", and not "(a)(b)"."""
    depth = 0
    for i, ch in enumerate(token):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i != len(token) - 1:
            return False
    return True


def _group_end(s: str) -> int:
    depth = 0
    for i, ch in enumerate(s):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return i
    raise LexiconError(f"unbalanced '(' in {s!r}")


def lead_keys(fragment: str) -> set[tuple[str, bool]]:
    """The words an entry can start with: (word, is_stem), apostrophes removed."""
    s = fragment.strip()
    if s.startswith("("):
        j = _group_end(s)
        rest = s[j + 1 :]
        optional = rest.startswith("?")
        if optional:
            rest = rest[1:]
        keys: set[tuple[str, bool]] = set()
        for alt in split_alternatives(s[1:j]):
            sub = lead_keys(alt)
            if rest and not rest.startswith(" "):
                sub = {(word, True) for word, _ in sub}
            keys |= sub
        if optional:
            keys |= lead_keys(rest)
        return keys
    end = 0
    while end < len(s) and s[end] not in " -*(":
        end += 1
    word = _norm(s[:end])
    if not word:
        raise LexiconError(f"an entry must start with a word: {fragment!r}")
    return {(word, end < len(s) and s[end] != " ")}


def _entries(patterns: list[Any], indicator: str) -> list[Entry]:
    entries = []
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern.strip():
            raise LexiconError(f"{where(pattern)}{indicator}: entries must be non-empty strings, "
                               f"got {pattern!r}")
        try:
            regex = re.compile(compile_pattern(pattern))
        except LexiconError as exc:
            raise LexiconError(f"{where(pattern)}{indicator}: {exc}") from None
        except re.error as exc:
            raise LexiconError(f"{where(pattern)}{indicator}: cannot compile {pattern!r}: {exc}") from exc
        entries.append(Entry(indicator, pattern.strip().lower(), regex))
    return entries


def _ignore_regex(patterns: list[Any]) -> re.Pattern[str]:
    return re.compile("|".join(e.regex.pattern for e in _entries(patterns, "ignore")))


def _norm(word: object) -> str:
    if not isinstance(word, str):
        # YAML reads a bare no/yes/on/off as a boolean: the entry must be quoted.
        raise LexiconError(f"words must be quoted strings, got {word!r}")
    return word.lower().replace("'", "").replace("’", "")


def parse_lexicon(data: dict[str, Any]) -> Lexicon:
    if not isinstance(data, dict) or not isinstance(data.get("indicators"), dict):
        raise LexiconError("the lexicon needs an 'indicators' mapping")
    unknown = set(data["indicators"]) - set(RISK_INDICATORS)
    if unknown:
        raise LexiconError(f"unknown indicators: {sorted(unknown)}")
    exact: dict[str, list[Entry]] = {}
    stems: dict[str, list[Entry]] = {}
    for name in RISK_INDICATORS:
        # Longer entries first, so that at one position "zombie knife" wins over "knife".
        for entry in sorted(
            _entries(data["indicators"].get(name) or [], name), key=lambda e: -len(e.source)
        ):
            for word, is_stem in lead_keys(entry.source):
                (stems if is_stem else exact).setdefault(word, []).append(entry)
    neg = data.get("negation") or {}
    ignore = data.get("ignore") or []
    return Lexicon(
        exact={k: tuple(v) for k, v in exact.items()},
        stems={k: tuple(v) for k, v in stems.items()},
        ignore=_ignore_regex(ignore) if ignore else None,
        negators=frozenset(_norm(w) for w in neg.get("negators", [])),
        filler=frozenset(_norm(w) for w in neg.get("filler", [])),
        breaks=frozenset(_norm(w) for w in neg.get("breaks", [])),
        window=int(neg.get("window", 4)),
    )


def load_lexicon(path: Path | str) -> Lexicon:
    try:
        return parse_lexicon(lexicon_file.read(path))
    except LexiconError as exc:
        message = str(exc)
        raise LexiconError(message if message.startswith(str(path)) else f"{path}: {message}") from None


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return load_lexicon(DEFAULT_LEXICON)


def is_negated(low: str, start: int, lex: Lexicon) -> bool:
    """A negator within the window before `start`, in the same clause."""
    tokens = _TOKEN.findall(low, max(0, start - 100), start)
    counted = 0
    following = ""
    for token in reversed(tokens):
        if token in _PUNCT_BREAKS:
            return False
        word = _norm(token)
        if word in lex.negators:
            if not following.startswith("stop"):
                return True
        elif word in lex.breaks:
            return False
        elif word not in lex.filler:
            counted += 1
            if counted >= lex.window:
                return False
        following = word
    return False


def _candidates(word: str, lex: Lexicon) -> list[Entry]:
    found = list(lex.exact.get(word, ()))
    for k in range(1, len(word) + 1):
        found.extend(lex.stems.get(word[:k], ()))
    return found


def extract_risks(
    text: str, lexicon: Lexicon | None = None, concepts: Concepts | None = None
) -> tuple[Risk, ...]:
    """Each indicator once, in RISK_INDICATORS order, with its first un-negated match.

    The phrase lexicon reads the text with SMS spellings undone ("givin him parcels wiv");
    then the concept rules (concepts.py) add the indicators the phrases did not find.
    """
    lex = lexicon or default_lexicon()
    low, where = normalised(text)
    if lex.ignore is not None:
        low = lex.ignore.sub(lambda m: " " * len(m.group()), low)
    found: dict[str, Risk] = {}
    for token in _WORD.finditer(low):
        pos = token.start()
        for entry in _candidates(_norm(token.group()), lex):
            if entry.indicator in found:
                continue
            match = entry.regex.match(low, pos)
            if match and not is_negated(low, pos, lex):
                quoted = text[where[pos] : where[match.end() - 1] + 1]
                found[entry.indicator] = Risk(entry.indicator, quoted)
    reading = read(text, concepts)
    seen = {c.name for c in reading.concepts}
    # Where the concepts say it is pretend or an accident, a bare phrase does not overrule them
    # ("the guns are props", "slipped and hurt her wrist"): the concept rules decide.
    _veto(found, seen, _PHRASE_VETOES)
    for risk in reading.risks:
        found.setdefault(risk.indicator, risk)
    # And what the text says of itself anywhere ("hes just a trainspotter", "shes acting")
    # overrules a danger to life that one of its sentences seemed to show.
    _veto(found, seen, _TEXT_VETOES)
    return tuple(found[name] for name in RISK_INDICATORS if name in found)


_PHRASE_VETOES = {
    "pretend": ("weapon", "violence", "abduction"),
    "lawful_tool": ("weapon",),
    "consensual": ("sexual",),
    "harmless": ("weapon", "violence", "abduction"),
    "accident": ("violence", "self_harm"),
    "not_meant": ("self_harm",),
    "fare": ("abduction",),
    "restraint": ("violence",),
    "staged": ("danger_to_life", "self_harm", "violence", "abduction"),
}
_TEXT_VETOES = {
    "pretend": ("self_harm",),
    "harmless": ("danger_to_life",),
    "railway_work": ("self_harm", "danger_to_life"),
}


def _veto(found: dict[str, Risk], seen: set[str], vetoes: dict[str, tuple[str, ...]]) -> None:
    for concept, indicators in vetoes.items():
        if concept in seen:
            for name in indicators:
                found.pop(name, None)
