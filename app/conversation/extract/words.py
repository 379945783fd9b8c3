"""A text's words as the extractors read them: SMS spellings undone, each word with its lemma.

People text "givin him parcels wiv his m8s rn". Before any term is looked for, each word is
lower-cased, its apostrophes dropped ("don't" -> "dont"), a common SMS spelling replaced by
the words it stands for ("wiv" -> "with", "rn" -> "right now"), and a dropped g put back
where that makes a known word ("givin" -> "giving", never "robin" -> "robing"). Each word then
gets its lemma from simplemma's English dictionary, which ships in its wheel ("sent" -> "send",
"parcels" -> "parcel", "men" -> "man"), so that one lexicon entry covers every form.

Every word keeps the offsets of the characters it came from, so evidence is always quoted
from the text as sent. `normalised()` gives the same as one string with an offset map, for
the phrase patterns that read running text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import simplemma

# Lower-cased: a word (letters, digits, inner apostrophes), or a sentence break.
_TOKEN = re.compile(r"[a-z0-9£$]+(?:['’][a-z0-9]+)*|[.!?;,:\n]|(?<!\w)-(?!\w)")
SENTENCE_BREAKS = frozenset(".!?;\n")
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z0-9]+)*")

# SMS and spoken spellings, and what they stand for. Only forms that are not themselves an
# ordinary word in the sense a report would use ("u", not "us"; "plat", not "plate").
SPELLINGS: dict[str, str] = {
    "u": "you", "yu": "you", "ur": "your", "yr": "your", "r": "are",
    "wiv": "with", "wid": "with", "w": "with", "wth": "with",
    "summat": "something", "sumthin": "something", "sumthing": "something", "smthn": "something",
    "stn": "station", "plat": "platform", "pltfrm": "platform",
    "rn": "right now", "atm": "at the moment", "asap": "as soon as possible",
    "bc": "because", "cos": "because", "coz": "because", "cuz": "because", "bcos": "because",
    "ppl": "people", "peeps": "people", "yeh": "yeah", "yea": "yeah", "ye": "yeah",
    "gonna": "going to", "gunna": "going to", "wanna": "want to", "gotta": "got to",
    "tryna": "trying to", "finna": "going to", "lemme": "let me", "gimme": "give me",
    "n": "and", "nd": "and", "b4": "before", "2day": "today", "2nite": "tonight",
    "tn": "tonight", "pls": "please", "plz": "please", "thx": "thanks", "ty": "thank you",
    "m8": "mate", "m8s": "mates", "bf": "boyfriend", "gf": "girlfriend", "bro": "brother",
    "wat": "what", "wot": "what", "wht": "what", "dat": "that", "dis": "this", "dem": "them",
    "em": "them", "da": "the", "ov": "of", "av": "have", "hav": "have",
    "dunno": "dont know", "kno": "know", "knw": "know", "nt": "not", "abt": "about",
    "bout": "about", "sum": "some", "sumone": "someone", "sum1": "someone", "some1": "someone",
    "any1": "anyone", "every1": "everyone", "no1": "no one", "gna": "going to",
    "prob": "probably", "probs": "probably", "def": "definitely", "deffo": "definitely",
    "sec": "second", "min": "minute", "mins": "minutes", "hr": "hour", "hrs": "hours",
    "fone": "phone", "phne": "phone", "ppl's": "peoples", "kiddo": "kid", "yoot": "yute",
    "yout": "yute", "youts": "yutes", "gurl": "girl", "grl": "girl", "bwoy": "boy",
    "nuff": "enough", "innit": "isnt it", "aint": "isnt", "tho": "though", "thru": "through",
    "gd": "good", "rly": "really", "w8": "wait", "l8r": "later", "hv": "have", "tkn": "taken",
    "jus": "just", "evrythin": "everything", "evry1": "everyone", "nd2": "need to",
    "cnt": "cant", "cudnt": "couldnt", "wen": "when", "wer": "where", "nxt": "next",
    "anymor": "anymore", "nemore": "anymore", "ne1": "anyone", "gud": "good",
    # Scots and Geordie, as texted: "gaun oan the noo", "fell doon", "wi himsel".
    "noo": "now", "doon": "down", "aboot": "about", "oot": "out", "wi": "with",
    "himsel": "himself", "hersel": "herself", "masel": "myself", "theirsel": "themselves",
    "cannae": "cant", "canna": "cant", "dinnae": "dont", "didnae": "didnt", "isnae": "isnt",
    "wisnae": "wasnt", "wouldnae": "wouldnt", "couldnae": "couldnt", "willnae": "wont",
    "gaun": "going", "gannin": "going", "giein": "giving", "gien": "given", "intae": "into",
    "tae": "to", "fae": "from", "ain": "own", "naebody": "nobody", "nae": "no",
    "polis": "police", "bairn": "child", "bairns": "children", "wean": "child",
    "weans": "children", "kecks": "trousers", "gadgie": "man", "aad": "old",
    "greetin": "crying",
}
# Words ending in "in" that are words already, or are more often a name than a dropped g.
_NOT_DROPPED_G = frozenset(
    "robin cabin margin raisin basin coffin napkin penguin pumpkin dolphin begin within"
    " origin violin muffin satin kevin martin justin colin gavin odin latin admin vitamin"
    " cousin toxin skin chin thin spin twin grin shin tin pin bin win din sin kin gin ruin fin"
    " heroin insulin resin cumin bulletin austin dustin robin".split()
)


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # lower case, apostrophes dropped, SMS spelling undone
    lemma: str
    start: int  # offsets in the text as sent
    end: int
    sentence: int  # sentences counted from 0; a word of several ("rn") shares one
    clause: int  # clauses (split also at commas and colons), counted from 0


@lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    if not word.isalpha():
        return word
    found = simplemma.lemmatize(word, lang="en").lower()
    if found == word and len(word) > 4 and word.endswith(("ing", "ed")):
        # The dictionary reads some forms as nouns ("buying", "telling"): take the verb.
        stem = word[:-3] if word.endswith("ing") else word[:-2]
        for verb in (stem + "e", stem, stem[:-1] if stem[-1:] == stem[-2:-1] else ""):
            if len(verb) > 1 and simplemma.is_known(verb, lang="en"):
                return verb
    return found


@lru_cache(maxsize=65536)
def _restore_g(word: str) -> str:
    """ "givin" -> "giving" when that is a known word; otherwise the word as it is."""
    if len(word) < 4 or not word.endswith("in") or word in _NOT_DROPPED_G:
        return word
    # Not "is `word` known?": the dictionary knows "makin" and "goin" as words of their own.
    full = word + "g"
    return full if simplemma.is_known(full, lang="en") else word


def _spelled(token: str) -> list[str]:
    word = token.replace("'", "").replace("’", "")
    out = SPELLINGS.get(word)
    if out is not None:
        return out.split()
    return [_restore_g(word)]


def words(text: str) -> tuple[Word, ...]:
    """The words of `text`, in order, with sentence numbers."""
    low = text.lower()
    if len(low) != len(text):  # a character whose lower case is longer: keep offsets true
        low = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
    out: list[Word] = []
    sentence = clause = 0
    for m in _TOKEN.finditer(low):
        token = m.group()
        if token in SENTENCE_BREAKS or token in "-,:":
            if out and out[-1].clause == clause:
                clause += 1
            if token in SENTENCE_BREAKS and out and out[-1].sentence == sentence:
                sentence += 1
            continue
        for part in _spelled(token):
            out.append(Word(part, lemma(part), m.start(), m.end(), sentence, clause))
    return tuple(out)


def normalised(text: str) -> tuple[str, list[int]]:
    """The text lower-cased with SMS spellings undone, and for each of its characters the
    offset of the character it came from (so a match can be quoted from the original)."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
    parts: list[str] = []
    where: list[int] = []
    last = 0
    for m in _WORD.finditer(low):
        token = m.group()
        word = token.replace("'", "").replace("’", "")
        out = SPELLINGS.get(word)
        if out is None:
            restored = _restore_g(word)
            if restored == word:
                continue  # as written: copied with the text around it
            out = restored
        parts.append(low[last : m.start()])
        where.extend(range(last, m.start()))
        parts.append(out)
        # Every character of a replacement points into the word it replaced.
        span = m.end() - m.start()
        where.extend(m.start() + min(i, span - 1) for i in range(len(out)))
        last = m.end()
    parts.append(low[last:])
    where.extend(range(last, len(low)))
    return "".join(parts), where
