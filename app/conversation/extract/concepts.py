"""Concepts in a text, and risk indicators as rules over them (app/conversation/concepts.yaml).

A concept is an idea a report is made of: a child, an older or controlling person, a parcel,
handing something over, a push. Its entries are written as lemmas ("send" covers sent, sends,
sending) and matched against the words of words.py, so one entry covers every form and every
common SMS spelling. An indicator is a rule over concepts: "child + older + carrying" holds
when all three were seen, in one sentence or across the conversation's texts.

Entry syntax (each space-separated slot matches one word, by its lemma or its spelling):
    parcel            the word (any form: parcels)
    stab*             any word starting with it
    push|shove        one of several
    (his|her)?        optional
    ...               a gap of up to five words in the same clause
    @person           any one-word entry of the concept `person`
Rule syntax: "child + older + carrying - family": every concept after "+" seen, none after "-".

Loading checks everything and names the line of a bad entry (LexiconError).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import simplemma
import yaml

from app.conversation.extract import lexicon_file
from app.conversation.extract.lexicon_file import LexiconError, split_alternatives
from app.conversation.extract.lexicon_file import where as _where
from app.conversation.extract.words import Word, lemma, words
from app.conversation.facts import RISK_INDICATORS, Concept, Risk

DEFAULT_CONCEPTS = Path(__file__).resolve().parent.parent / "concepts.yaml"
GAP = 5
MIN_FIX = 5  # shorter words are not corrected: too many are one letter from another
# Concepts the conversation and the dispatcher read by name, besides the indicator rules.
RESERVED = ("concern", "presence", "thanks_only")


@dataclass(frozen=True, slots=True)
class Slot:
    words: frozenset[str]
    stems: tuple[str, ...]
    optional: bool = False
    gap: bool = False
    surface: frozenset[str] = frozenset()  # "=axe": this spelling only, not "axed"

    def fits(self, w: Word) -> bool:
        if w.text in self.words or w.lemma in self.words or w.text in self.surface:
            return True
        return bool(self.stems) and w.text.startswith(self.stems)


@dataclass(frozen=True, slots=True)
class Term:
    concept: str
    source: str
    slots: tuple[Slot, ...]
    fixed: bool = False  # no gap and nothing optional: matched word by word, no backtracking


@dataclass(frozen=True, slots=True)
class Rule:
    indicator: str
    needs: tuple[str, ...]
    unless: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Concepts:
    exact: dict[str, tuple[Term, ...]]
    stems: dict[str, tuple[Term, ...]]
    sentence_rules: tuple[Rule, ...]
    conversation_rules: tuple[Rule, ...]
    names: frozenset[str]
    negators: frozenset[str]
    filler: frozenset[str]
    breaks: frozenset[str]
    window: int
    # Misspellings one letter away from a lexicon word: every form with one letter deleted,
    # mapped to the words it comes from ("packges", "pakages" -> "packages").
    near: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stem_lengths: tuple[int, ...] = ()  # the lengths of the stems, shortest first


@dataclass(frozen=True, slots=True)
class Hit:
    concept: str
    first: int  # index of its first and last word
    last: int
    sentence: int
    used: frozenset[int] = frozenset()  # the words its entry's slots took, not its gaps


def _parse_slot(token: str, singles: dict[str, set[str]], at: object) -> Slot:
    optional = token.endswith("?")
    body = token[:-1] if optional else token
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    if not body or any(ch in body for ch in "()[]{}\\^$+"):
        raise LexiconError(f"{_where(at)}cannot read {token!r} in {at!r}")
    exact: set[str] = set()
    surface: set[str] = set()
    stems: list[str] = []
    for alt in body.split("|"):
        alt = alt.strip().replace("'", "").replace("’", "")
        if not alt:
            raise LexiconError(f"{_where(at)}empty alternative in {at!r}")
        if alt.startswith("=") and alt[1:].isalnum():
            surface.add(alt[1:])
        elif alt.startswith("@"):
            if alt[1:] not in singles:
                raise LexiconError(f"{_where(at)}unknown concept {alt!r} in {at!r}")
            exact |= singles[alt[1:]]
        elif alt.endswith("*"):
            if len(alt) < 3:
                raise LexiconError(f"{_where(at)}stem too short: {alt!r}")
            stems.append(alt[:-1])
        else:
            exact.add(alt)
    return Slot(frozenset(exact), tuple(stems), optional, surface=frozenset(surface))


def _expand(text: str, at: object) -> list[str]:
    """A group whose alternatives have several words becomes one entry per alternative:
    "meet (people|a car)?" -> "meet people", "meet a car", "meet"."""
    start = -1
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise LexiconError(f"{_where(at)}unbalanced ')' in {at!r}")
            if depth == 0 and " " in text[start:i]:
                end = i + 1
                optional = text[end : end + 1] == "?"
                rest = text[end + 1 :] if optional else text[end:]
                alts = [a.strip() for a in split_alternatives(text[start + 1 : i])]
                if optional:
                    alts.append("")
                out: list[str] = []
                for alt in alts:
                    out.extend(_expand(" ".join((text[:start] + " " + alt + " " + rest).split()), at))
                return out
    if depth:
        raise LexiconError(f"{_where(at)}unbalanced '(' in {at!r}")
    return [text]


def _parse_terms(concept: str, entry: object, singles: dict[str, set[str]]) -> list[Term]:
    if not isinstance(entry, str) or not entry.strip():
        raise LexiconError(f"{_where(entry)}{concept}: entries must be non-empty text, got {entry!r}")
    variants: list[str] = []
    for variant in _expand(entry.lower().strip(), entry):
        first, _, rest = variant.partition(" ")
        if first.endswith("?") and rest:  # "(fire|planned)? drill": with it, and without
            variants += [first[:-1] + " " + rest, rest]
        elif variant:
            variants.append(variant)
    return [_parse_term(concept, variant, entry, singles) for variant in variants]


def _parse_term(concept: str, variant: str, entry: str, singles: dict[str, set[str]]) -> Term:
    slots = []
    for token in variant.split():
        slots.append(Slot(frozenset(), (), gap=True) if token == "..." else
                     _parse_slot(token, singles, entry))
    if slots[0].gap or slots[0].optional or slots[-1].gap:
        raise LexiconError(f"{_where(entry)}{concept}: an entry starts and ends with a word: {entry!r}")
    fixed = not any(s.gap or s.optional for s in slots)
    return Term(concept, str(entry).strip(), tuple(slots), fixed)


def _singles(raw: dict[str, Any]) -> dict[str, set[str]]:
    """Each concept's one-word entries, for @references."""
    out: dict[str, set[str]] = {}
    refs: dict[str, list[str]] = {}
    for name, entries in raw.items():
        words_: set[str] = set()
        for entry in entries or ():
            if not isinstance(entry, str) or len(entry.split()) != 1:
                continue
            token = entry.strip().lower()
            if token.startswith("@"):
                refs.setdefault(str(name), []).append(token[1:])
            elif not token.endswith(("*", "?")) and "@" not in token:
                words_ |= {w.strip("()").replace("'", "") for w in token.strip("()").split("|")}
        out[str(name)] = words_
    for name, targets in refs.items():  # one level: "person" takes in "people"
        for target in targets:
            out[name] |= out.get(target, set())
    return out


def _parse_rule(indicator: str, text: object, names: set[str]) -> Rule:
    if not isinstance(text, str) or not text.strip():
        raise LexiconError(f"{_where(text)}{indicator}: a rule is text, got {text!r}")
    needs: list[str] = []
    unless: list[str] = []
    mode = "+"
    for part in text.replace("-", " - ").replace("+", " + ").split():
        if part in ("+", "-"):
            mode = part
            continue
        if part not in names:
            raise LexiconError(f"{_where(text)}{indicator}: unknown concept {part!r} in {text!r}")
        (unless if mode == "-" else needs).append(part)
    if not needs:
        raise LexiconError(f"{_where(text)}{indicator}: a rule needs a concept: {text!r}")
    return Rule(indicator, tuple(needs), tuple(unless), text.strip())


def parse_concepts(data: Any, negation: dict[str, Any] | None = None) -> Concepts:
    if not isinstance(data, dict) or not isinstance(data.get("concepts"), dict) or not data["concepts"]:
        raise LexiconError("the concept file needs a 'concepts' mapping with at least one concept")
    raw = data["concepts"]
    singles = _singles(raw)
    exact: dict[str, list[Term]] = {}
    stems: dict[str, list[Term]] = {}
    for name, entries in raw.items():
        if not isinstance(entries, list) or not entries:
            raise LexiconError(f"{_where(name)}concept {name!r} needs a list of entries")
        for entry in entries:
            for term in _parse_terms(str(name), entry, singles):
                first = term.slots[0]
                for w in first.words | first.surface:
                    exact.setdefault(w, []).append(term)
                for s in first.stems:
                    stems.setdefault(s, []).append(term)
    names = set(map(str, raw))
    sentence: list[Rule] = []
    conversation: list[Rule] = []
    indicators = data.get("indicators") or {}
    for indicator, scopes in indicators.items():
        if indicator not in RISK_INDICATORS:
            raise LexiconError(f"{_where(indicator)}unknown indicator {indicator!r}")
        if not isinstance(scopes, dict):
            raise LexiconError(f"{_where(indicator)}{indicator}: give 'sentence' and/or 'conversation' rules")
        for scope, rules in scopes.items():
            target = {"sentence": sentence, "conversation": conversation}.get(scope)
            if target is None:
                raise LexiconError(f"{_where(scope)}{indicator}: unknown scope {scope!r}")
            target.extend(_parse_rule(str(indicator), r, names | {"child"}) for r in rules or ())
    neg = negation or {}
    near: dict[str, set[str]] = {}
    vocabulary = {w for terms in exact.values() for t in terms for sl in t.slots
                  for w in sl.words | sl.surface}
    for word in {form for w in vocabulary if w.isalpha() for form in _forms(w)}:
        if len(word) >= MIN_FIX - 1:  # "coold" is "cold" with a letter doubled
            for variant in _deletions(word) | {word}:
                near.setdefault(variant, set()).add(word)
    norm = lambda ws: frozenset(str(w).lower().replace("'", "") for w in ws)  # noqa: E731
    return Concepts(
        exact={k: tuple(v) for k, v in exact.items()},
        stems={k: tuple(v) for k, v in stems.items()},
        sentence_rules=tuple(sentence),
        conversation_rules=tuple(conversation),
        names=frozenset(names),
        negators=norm(neg.get("negators", ())),
        filler=norm(neg.get("filler", ())),
        breaks=norm(neg.get("breaks", ())),
        window=int(neg.get("window", 4)),
        near={k: tuple(sorted(v)) for k, v in near.items()},
        stem_lengths=tuple(sorted({len(k) for k in stems})),
    )


def load_concepts(path: Path | str, negation: dict[str, Any] | None = None) -> Concepts:
    data = lexicon_file.read(path)
    try:
        return parse_concepts(data, negation)
    except LexiconError as exc:
        raise LexiconError(f"{path}: {exc}") from None


@lru_cache(maxsize=1)
def default_concepts() -> Concepts:
    # Negation is defined once, in the phrase lexicon, and read from there.
    with open(DEFAULT_CONCEPTS.with_name("lexicon.yaml"), encoding="utf-8") as fh:
        negation = (yaml.safe_load(fh) or {}).get("negation")
    return load_concepts(DEFAULT_CONCEPTS, negation)


# ---- matching


def _match(ws: tuple[Word, ...], i: int, slots: tuple[Slot, ...], k: int) -> int:
    """Index of the last word when slots[k:] match from word i; -1 when they do not."""
    if k == len(slots):
        return i - 1
    slot = slots[k]
    if slot.gap:
        for skip in range(GAP + 1):
            j = i + skip
            if j >= len(ws) or ws[j].clause != ws[i - 1].clause:
                break
            end = _match(ws, j, slots, k + 1)
            if end >= 0:
                return end
        return -1
    if i < len(ws) and slot.fits(ws[i]) and (k == 0 or ws[i].clause == ws[i - 1].clause):
        end = _match(ws, i + 1, slots, k + 1)
        if end >= 0:
            return end
    if slot.optional:
        return _match(ws, i, slots, k + 1)
    return -1


# A possessive starts a new noun phrase too: "cant talk my olders are here".
_SUBJECTS = frozenset("i he she they we you my our".split())
_GOES_ON = frozenset("keep keeps kept still but yet though although however then".split())
_HEDGES = frozenset("think reckon believe suppose guess".split())
_NOT_NEGATED = frozenset(
    "stop know knows realise realize notice care mind like want seem look".split()
)


def _match_fixed(ws: tuple[Word, ...], i: int, slots: tuple[Slot, ...]) -> int:
    end = i + len(slots) - 1
    if end >= len(ws) or ws[end].clause != ws[i].clause:
        return -1
    for k, slot in enumerate(slots):
        if not slot.fits(ws[i + k]):
            return -1
    return end


def _negated(ws: tuple[Word, ...], i: int, end: int, term: Term, c: Concepts) -> bool:
    """A negator just before the entry, or inside one of its gaps ("hit" ... "hasnt" ...)."""
    for w in ws[i + 1 : end]:
        if w.text in c.negators and not any(s.fits(w) for s in term.slots if not s.gap):
            return True
    counted = 0
    following = ws[i].text
    for j in range(i - 1, -1, -1):
        w = ws[j]
        if w.clause != ws[i].clause:
            return False
        if w.text in c.negators:
            # "won't stop crying" is no negation; "she doesn't know him ... his hand" negates
            # only the knowing.
            if following not in _NOT_NEGATED:
                return True
        elif w.text in c.breaks or (w.text in _SUBJECTS and (j == 0 or ws[j - 1].text not in _HEDGES)):
            # "cant talk they can see my phone": a new subject starts what is not negated.
            return False
        elif w.text in _GOES_ON and j > 0 and ws[j - 1].text not in c.negators:
            # "a guy whos not with her keeps feeling her": the negation was of "with her";
            # "didnt keep touching her" still negates.
            return False
        elif w.text not in c.filler:
            counted += 1
            if counted >= c.window:
                return False
        following = w.text
    return False


def _candidates(w: Word, c: Concepts) -> list[Term]:
    found = list(c.exact.get(w.text, ()))
    if w.lemma != w.text:
        found.extend(c.exact.get(w.lemma, ()))
    for k in c.stem_lengths:
        if k > len(w.text):
            break
        found.extend(c.stems.get(w.text[:k], ()))
    return found


def _forms(word: str) -> set[str]:
    """A lexicon word and its usual inflections, for reading misspelt forms of it."""
    if word.endswith(("ing", "ed", "s")):
        return {word}
    base = word[:-1] if word.endswith("e") else word
    forms = {word, word + "s", base + "ed", base + "ing"}
    if len(word) > 2 and word[-1] not in "aeiouwy" and word[-2] in "aeiou" and word[-3] not in "aeiou":
        forms |= {word + word[-1] + "ed", word + word[-1] + "ing"}  # drag: dragged, dragging
    return forms


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@lru_cache(maxsize=4096)
def _known(word: str) -> bool:
    return simplemma.is_known(word, lang="en")


def _fix(w: Word, c: Concepts) -> Word:
    """A word the dictionary does not know, one letter from exactly one lexicon word (a
    letter doubled, dropped, changed or two swapped), read as that word: "packeges"."""
    if len(w.text) < MIN_FIX - 1 or not w.text.isalpha() or w.text in c.near.get(w.text, ()):
        return w
    if len(w.text) < MIN_FIX:  # a short word: only two letters swapped ("gilr", "knfie")
        swaps = {w.text[:i] + w.text[i + 1] + w.text[i] + w.text[i + 2 :]
                 for i in range(len(w.text) - 1)}
        found = {x for x in swaps if x in c.near.get(x, ())}
        if len(found) == 1 and not _known(w.text):
            word = found.pop()
            return replace(w, text=word, lemma=lemma(word))
        return w
    if _known(w.text) or w.text in c.negators or w.text in c.breaks:
        return w  # "wasnt" is a negator, not "want" mistyped
    deleted = _deletions(w.text)
    # A letter too many or too few first; then a letter changed or two swapped.
    found = {d for d in deleted if d in c.near.get(d, ())}
    found |= set(c.near.get(w.text, ()))
    if not found:
        for variant in deleted:
            found.update(c.near.get(variant, ()))
    lemmas = {lemma(f) for f in found}
    if len(lemmas) != 1:
        return w  # no lexicon word near, or several: leave it as written
    word = min(found, key=len)
    return replace(w, text=word, lemma=lemmas.pop())


def find_hits(ws: tuple[Word, ...], c: Concepts) -> list[Hit]:
    """Each concept's first hit in each sentence: all that the rules and the evidence use."""
    ws = tuple(_fix(w, c) for w in ws)
    hits: list[Hit] = []
    found: set[tuple[str, int]] = set()
    for i, w in enumerate(ws):
        for term in _candidates(w, c):
            if (term.concept, w.sentence) in found:
                continue
            end = _match_fixed(ws, i, term.slots) if term.fixed else _match(ws, i, term.slots, 0)
            if end >= 0 and not _negated(ws, i, end, term, c):
                found.add((term.concept, w.sentence))
                slots = [s for s in term.slots if not s.gap]
                used = frozenset(j for j in range(i, end + 1) if any(s.fits(ws[j]) for s in slots))
                hits.append(Hit(term.concept, i, end, w.sentence, used))
    return hits


def _quote(text: str, ws: tuple[Word, ...], hit: Hit) -> str:
    return text[ws[hit.first].start : ws[hit.last].end]


@dataclass(frozen=True)
class Reading:
    """What the concept layer saw in one text."""

    concepts: tuple[Concept, ...]  # each concept once, first evidence
    risks: tuple[Risk, ...]  # indicators whose sentence rules held


def _evidence(parts: list[str]) -> str:
    """The words each concept came from, once each: a part inside another is left out."""
    low = [p.lower() for p in parts]
    out = [p for i, p in enumerate(parts)
           if not any(j != i and low[i] in low[j] and (low[i] != low[j] or j < i)
                      for j in range(len(parts)))]
    return " ... ".join(out)


def read(text: str, c: Concepts | None = None) -> Reading:
    """The concepts of one text, and the indicators its sentence rules find."""
    return _read_default(text) if c is None else _read(text, c)


@lru_cache(maxsize=64)  # the risk extractor and the engine both ask for the same text
def _read_default(text: str) -> Reading:
    return _read(text, default_concepts())


def _read(text: str, c: Concepts) -> Reading:
    ws = words(text)
    hits = find_hits(ws, c)
    first: dict[str, str] = {}
    by_sentence: dict[int, dict[str, Hit]] = {}
    for h in hits:
        first.setdefault(h.concept, _quote(text, ws, h))
        by_sentence.setdefault(h.sentence, {}).setdefault(h.concept, h)
    risks: dict[str, Risk] = {}
    for rule in c.sentence_rules:
        if rule.indicator in risks:
            continue
        for seen in by_sentence.values():
            if all(n in seen for n in rule.needs) and not any(n in seen for n in rule.unless):
                used = sorted((seen[n] for n in rule.needs), key=lambda h: h.first)
                taken = [h.used for h in used]
                if sum(map(len, taken)) != len(frozenset().union(*taken)):
                    continue  # one word cannot be two concepts of a rule ("county lines")
                risks[rule.indicator] = Risk(rule.indicator, _evidence(
                    [_quote(text, ws, h) for h in used]))
                break
    concepts = tuple(Concept(n, e) for n, e in first.items())
    ordered = tuple(risks[n] for n in RISK_INDICATORS if n in risks)
    return Reading(concepts, ordered)


def conversation_risks(
    concepts: tuple[Concept, ...], child: bool | None, c: Concepts | None = None
) -> tuple[Risk, ...]:
    """Indicators whose conversation rules hold over every concept seen so far."""
    c = c or default_concepts()
    seen = {k.name: k.evidence for k in concepts}
    if child:
        seen.setdefault("child", "child")
    found: dict[str, Risk] = {}
    for rule in c.conversation_rules:
        if rule.indicator in found:
            continue
        if all(n in seen for n in rule.needs) and not any(n in seen for n in rule.unless):
            found[rule.indicator] = Risk(rule.indicator, _evidence([seen[n] for n in rule.needs]))
    return tuple(found[n] for n in RISK_INDICATORS if n in found)
