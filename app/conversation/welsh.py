"""Reading Welsh: a Welsh text glossed into the plain English the extractors read.

The extractors (app/conversation/extract/) read English. A Welsh text is glossed word by word
with app/conversation/welsh.yaml ("Mae plentyn tua 12 oed ar y trên o Gaerdydd" -> "is child
about 12 years old on the train from Caerdydd"), mutations undone before a word is looked up
("Gaerdydd" -> "Caerdydd", "nhrên" -> "trên"). A word the table does not know is copied as it
is, so an English word in a code-switched text still reads as itself and a station's Welsh
name reaches the gazetteer (whose Welsh aliases include the mutated forms).

Every character of the gloss remembers the characters of the text it came from, so evidence
found in the gloss is quoted back from the texter's own Welsh (`Gloss.quote`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import yaml

from app.conversation.english_words import is_english_word
from app.conversation.facts import Age, Concept, ImmediacyFact, Location, Risk

VOCABULARY = Path(__file__).with_name("welsh.yaml")
LONGEST_PHRASE = 6

# Letters and inner apostrophes: "o'n" is one token here and split below.
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[^\w\s]", re.UNICODE)
_APOSTROPHE = re.compile(r"['’]")

# Mutated initial -> the radicals it may come from, longest first (nasal "ngh" before "ng").
_MUTATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ngh", ("c",)), ("mh", ("p",)), ("nh", ("t",)), ("ng", ("g",)),
    ("ch", ("c",)), ("ph", ("p",)), ("th", ("t",)),
    ("dd", ("d",)), ("ll", ()), ("rh", ()),
    ("g", ("c",)), ("b", ("p",)), ("d", ("t",)), ("f", ("b", "m")), ("l", ("ll",)),
    ("r", ("rh",)), ("m", ("b",)), ("n", ("d",)), ("h", ("",)),
)
_VOWELS = "aeiouwy"


def fold(word: str) -> str:
    """Lower case, accents dropped: "Trên" -> "tren", "rŵan" -> "rwan"."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def radicals(word: str) -> tuple[str, ...]:
    """The word and the unmutated forms it may stand for: "gaerdydd" -> ("gaerdydd",
    "caerdydd"); "mangor" -> ("mangor", "bangor"); "orsaf" -> ("orsaf", "gorsaf")."""
    out = [word]
    for mutated, bases in _MUTATIONS:
        if word.startswith(mutated) and len(word) > len(mutated) + 1:
            out.extend(base + word[len(mutated):] for base in bases)
            break
    if word[:1] in _VOWELS:
        out.append("g" + word)  # soft mutation drops a g: "orsaf" <- "gorsaf"
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Vocabulary:
    words: dict[str, str]
    phrases: dict[tuple[str, ...], str]


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    data = yaml.safe_load(VOCABULARY.read_text(encoding="utf-8")) or {}
    words: dict[str, str] = {}
    phrases: dict[tuple[str, ...], str] = {}
    for section in ("phrases", "words"):
        for key, value in (data.get(section) or {}).items():
            parts = tuple(_split(fold(str(key))))
            english = "" if value is None else str(value)
            if len(parts) == 1:
                words[parts[0]] = english
            else:
                phrases[parts] = english
    return Vocabulary(words, phrases)


@lru_cache(maxsize=65536)
def is_welsh_word(word: str) -> bool:
    """A word of the vocabulary (or of one of its phrases), mutated or not."""
    vocab = vocabulary()
    forms = radicals(fold(word))
    return any(f in vocab.words or f in _phrase_words() for f in forms)


@lru_cache(maxsize=1)
def _phrase_words() -> frozenset[str]:
    return frozenset(w for phrase in vocabulary().phrases for w in phrase)


def _split(text: str) -> list[str]:
    """Tokens of folded text: "o'n" -> ["o", "'n"] (the clitic keeps its apostrophe)."""
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        pieces = _APOSTROPHE.split(m.group())
        out.append(pieces[0])
        out.extend("'" + p for p in pieces[1:])
    return [t for t in out if t]


_PRESENT = frozenset({"mae", "maen", "ma", "dwi", "rwy", "rydw", "ydy", "ydyn", "rydyn", "dach",
                      "rydych", "wyt"})
_PAST = frozenset({"roedd", "oedd", "ro", "roeddwn", "roedden", "bu", "buodd", "wnaeth"})


@dataclass(frozen=True)
class Gloss:
    """The English reading of a text, with each character's source span in the original."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def quote(self, evidence: str) -> str:
        """Evidence found in the gloss, quoted from the original; unchanged if not found."""
        if not evidence:
            return evidence
        at = self.text.lower().find(evidence.lower())
        if at < 0:
            return evidence
        return self.original[self.starts[at] : self.ends[at + len(evidence) - 1]]


@dataclass(frozen=True)
class _Token:
    key: str  # folded, apostrophe kept on a clitic
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    for m in _TOKEN.finditer(text):
        pos = m.start()
        for i, piece in enumerate(_APOSTROPHE.split(m.group())):
            if i:
                pos += 1  # the apostrophe
            key = fold(piece) if i == 0 else "'" + fold(piece)
            if piece:
                out.append(_Token(key, pos - (1 if i else 0), pos + len(piece)))
            pos += len(piece)
    return out


def _lookup_word(key: str, words: dict[str, str]) -> str | None:
    if key.startswith("'"):
        return words.get(key[1:], "") if key[1:] in ("r", "n", "i") else None
    for form in radicals(key):
        if form in words:
            return words[form]
    return None


def gloss(text: str) -> Gloss:
    vocab = vocabulary()
    tokens = _tokens(text)
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def emit(piece: str, start: int, end: int) -> None:
        if not piece:
            return
        if parts:
            parts.append(" ")
            starts.append(start)
            ends.append(start)
        parts.append(piece)
        starts.extend([start] * len(piece))
        ends.extend([end] * len(piece))

    # "Mae dyn yn gweiddi" is "a man is shouting": the particle before a verb-noun carries
    # the tense of the last auxiliary ("mae" now, "roedd" then), which English says with "is"
    # or "was" and the extractors read as happening now or not.
    tense: str | None = None  # no auxiliary yet: a fragment ("dyn yn gweiddi") says no tense
    i = 0
    while i < len(tokens):
        key = tokens[i].key
        if key in _PAST:
            tense = "was"
        elif key in _PRESENT:
            tense = "is"
        if key in ("yn", "'n") and i + 1 < len(tokens):
            following = _english_at(tokens, i + 1, vocab)
            said = parts[-1].split()[-1] if parts and parts[-1].strip() else ""
            if following.endswith("ing"):
                if tense and said not in ("is", "was", "are"):
                    emit(tense, tokens[i].start, tokens[i].end)
                i += 1
                continue
        matched = False
        for n in range(min(LONGEST_PHRASE, len(tokens) - i), 1, -1):
            keys = [t.key for t in tokens[i : i + n]]
            english = _phrase(keys, vocab.phrases)
            if english is not None:
                emit(english, tokens[i].start, tokens[i + n - 1].end)
                i += n
                matched = True
                break
        if matched:
            continue
        token = tokens[i]
        english = _lookup_word(token.key, vocab.words)
        if english is None:
            english = text[token.start : token.end]
            if token.key.startswith("'"):
                english = ""
        emit(english, token.start, token.end)
        i += 1
    return Gloss(text, "".join(parts), tuple(starts), tuple(ends))


def _english_at(tokens: list[_Token], i: int, vocab: Vocabulary) -> str:
    """The first English word the token at i starts (as a phrase or a word), or ""."""
    for n in range(min(LONGEST_PHRASE, len(tokens) - i), 1, -1):
        hit = _phrase([t.key for t in tokens[i : i + n]], vocab.phrases)
        if hit:
            return hit.split()[0]
    word = _lookup_word(tokens[i].key, vocab.words)
    return word.split()[0] if word else ""


def _phrase(keys: list[str], phrases: dict[tuple[str, ...], str]) -> str | None:
    """A phrase whose first word may be mutated ("nhrên" in "yn nhrên"): only the first."""
    rest = tuple(k.lstrip("'") if j else k for j, k in enumerate(keys))
    for first in radicals(keys[0]):
        hit = phrases.get((first, *rest[1:]))
        if hit is None:
            hit = phrases.get((first, *keys[1:]))
        if hit is not None:
            return hit
    return None


# ---- evidence found in a gloss, quoted back from the Welsh


def requote_location(loc: Location | None, g: Gloss) -> Location | None:
    return None if loc is None else replace(loc, text=g.quote(loc.text))


def requote_age(age: Age | None, g: Gloss) -> Age | None:
    return None if age is None else replace(age, text=g.quote(age.text))


def requote_immediacy(fact: ImmediacyFact | None, g: Gloss) -> ImmediacyFact | None:
    return None if fact is None else replace(fact, text=g.quote(fact.text))


def requote_risks(risks: tuple[Risk, ...], g: Gloss) -> tuple[Risk, ...]:
    return tuple(replace(r, evidence=g.quote(r.evidence)) for r in risks)


def requote_concepts(concepts: tuple[Concept, ...], g: Gloss) -> tuple[Concept, ...]:
    return tuple(replace(c, evidence=g.quote(c.evidence)) for c in concepts)


# ---- Welsh words in an English text ("man with a cyllell on the platform nawr")

LOAN_MIN = 4  # shorter Welsh words are too often English ones, or parts of them
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)


def loan_gloss(text: str) -> Gloss | None:
    """An English text with its Welsh words put into English and everything else left as it
    is, or None when it has no Welsh word worth reading. Only words of the vocabulary that are
    not English words too, and not short, are read: "cyllell", "plentyn", "nawr"."""
    words = vocabulary().words
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    changed = False
    for m in _WORD.finditer(text):
        key = fold(m.group())
        if len(key) < LOAN_MIN or is_english_word(key):
            continue
        english = _lookup_word(key, words)
        if not english:
            continue
        parts.append(text[last : m.start()])
        starts.extend(range(last, m.start()))
        ends.extend(range(last + 1, m.start() + 1))
        parts.append(english)
        starts.extend([m.start()] * len(english))
        ends.extend([m.end()] * len(english))
        last = m.end()
        changed = True
    if not changed:
        return None
    parts.append(text[last:])
    starts.extend(range(last, len(text)))
    ends.extend(range(last + 1, len(text) + 1))
    return Gloss(text, "".join(parts), tuple(starts), tuple(ends))
