"""Welsh station names as a texter writes them: mutated after a preposition or an article.

Welsh changes the first sound of a word after some words: "Caerdydd" is "o Gaerdydd" (soft),
"yng Nghaerdydd" (nasal) and "a Chaerdydd" (aspirate); "Bangor" is "ym Mangor". The aliases
in aliases_cy.csv are written in their plain form, and every form a texter may send is added.
"""

from __future__ import annotations

from functools import lru_cache

import simplemma

# Plain initial -> (soft, nasal, aspirate); "" where that mutation leaves it alone.
_MUTATE: tuple[tuple[str, tuple[str, str, str]], ...] = (
    ("ll", ("l", "", "")), ("rh", ("r", "", "")),
    ("c", ("g", "ngh", "ch")), ("p", ("b", "mh", "ph")), ("t", ("d", "nh", "th")),
    ("g", ("-", "ng", "")), ("b", ("f", "m", "")), ("d", ("dd", "n", "")), ("m", ("f", "", "")),
)
_ARTICLES = ("y ", "yr ")
MIN_LETTERS = 4  # shorter forms are too easily an ordinary word


def mutations(name: str) -> tuple[str, ...]:
    """The forms of a name a texter may send, the name itself first."""
    low = name.strip()
    forms = [low]
    bare = low
    for article in _ARTICLES:
        if low.lower().startswith(article):
            bare = low[len(article):]
            forms.append(bare)
            break
    head = bare.lower()
    for plain, changed in _MUTATE:
        if not head.startswith(plain):
            continue
        for to in changed:
            if not to:
                continue
            form = bare[len(plain):] if to == "-" else to + bare[len(plain):]
            if len(form.replace(" ", "")) >= MIN_LETTERS:
                forms.append(form)
        break
    return tuple(dict.fromkeys(f.lower() for f in forms))


@lru_cache(maxsize=4096)
def is_english(word: str) -> bool:
    """A mutated form that is an English word ("marry" from Barry) is left out."""
    return simplemma.is_known(word, lang="en")
