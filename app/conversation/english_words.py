"""Is a word English: the dictionary's, or as people text it.

Shared by the language detector's word check and the reading of Welsh words in English texts.
"""

from __future__ import annotations

from functools import lru_cache

import simplemma

from app.conversation.extract.words import SPELLINGS

_CONTRACTED = ("re", "ll", "ve", "s", "d", "t")  # "theyre", "hes", "youll", "didnt"


@lru_cache(maxsize=65536)
def is_english_word(word: str) -> bool:
    """A word of the English dictionary, an SMS spelling ("yeh", "rn"), a contraction written
    without its apostrophe ("theyre") or with its g dropped ("filmin")."""
    if simplemma.is_known(word, lang="en") or word in SPELLINGS:
        return True
    if word.endswith("in") and simplemma.is_known(word + "g", lang="en"):
        return True
    return any(
        word.endswith(end) and len(word) > len(end) + 1
        and simplemma.is_known(word[: -len(end)], lang="en")
        for end in _CONTRACTED
    )
