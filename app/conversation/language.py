"""The language of each text, and the language a conversation is held in.

Detection is lingua's, restricted to the languages this line answers in (English, Welsh) and
the ones most often texted to a British police line beside them, so that it stays under a
millisecond a text and its models ship inside its wheel. The detector is built once, by
start-up (load_detector), never at import: building it reads the models into memory.

What a text is in and what the conversation is in are two things. A text counts only when it
is in words: "ok", "yes", STOP, a number, a station's name or an emoji says nothing about the
texter's language and keeps the conversation's. The conversation takes the language of its
first text in words, and changes only on a clear switch: two texts running in words in the
other language, or "Cymraeg" / "English" sent as a whole text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from app.conversation.english_words import is_english_word
from app.conversation.welsh import is_welsh_word

ENGLISH, WELSH = "en", "cy"
ANSWERED_IN = (ENGLISH, WELSH)  # the languages the bot writes in
# Detected and shown to operators; answered in English with the offer of an interpreter.
OTHERS = ("pl", "ro", "ar", "ur", "pa", "es", "fr", "pt", "it", "de", "lt", "so", "bn", "zh")
NAMES = {
    "en": "English", "cy": "Welsh", "pl": "Polish", "ro": "Romanian", "ar": "Arabic",
    "ur": "Urdu", "pa": "Punjabi", "es": "Spanish", "fr": "French", "pt": "Portuguese",
    "it": "Italian", "de": "German", "lt": "Lithuanian", "so": "Somali", "bn": "Bengali",
    "zh": "Chinese",
}
# Below this, lingua's best guess is a guess.
CONFIDENT = 0.6
# Fewer words than this are not "in words" (a name, "ok", "yes please").
MIN_WORDS = 3
# Whole texts that set the language outright.
SWITCH = {"cymraeg": WELSH, "welsh": WELSH, "yn gymraeg": WELSH, "english": ENGLISH,
          "saesneg": ENGLISH, "yn saesneg": ENGLISH}

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


class DetectorError(RuntimeError):
    """The language detector could not be built; start-up stops on it."""


Detect = Callable[[str], "tuple[str, float] | None"]


@lru_cache(maxsize=1)
def load_detector() -> Detect:
    """Lingua restricted to our languages, models preloaded; built once per process."""
    try:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
                     for code in (*ANSWERED_IN, *OTHERS)]
        detector = (LanguageDetectorBuilder.from_languages(*languages)
                    .with_low_accuracy_mode().with_preloaded_language_models().build())
    except Exception as exc:
        raise DetectorError(f"language detector cannot load: {type(exc).__name__}: {exc}"
                            ) from None

    def detect(text: str) -> tuple[str, float] | None:
        values = detector.compute_language_confidence_values(text)
        if not values:
            return None
        best = values[0]
        return best.language.iso_code_639_1.name.lower(), best.value

    return detect


def in_words(text: str) -> list[str]:
    """The words of a text that could tell its language (letters only, no numbers)."""
    return _WORD.findall(unicodedata.normalize("NFC", text))


def switch_to(text: str) -> str | None:
    """ "Cymraeg" or "English" as a whole text: the language asked for."""
    return SWITCH.get(_EDGES.sub("", text.strip().lower()))


def text_language(text: str, detect: Detect) -> str | None:
    """The language of one text, or None when it is not in words or the detector is unsure."""
    asked = switch_to(text)
    if asked is not None:
        return asked
    words = in_words(text)
    if len(words) < MIN_WORDS:
        return None
    found = detect(" ".join(words))
    if found is None or found[1] < CONFIDENT:
        # Unsure, but mostly words of the Welsh vocabulary: "dwi ar y tren i Fangor".
        return WELSH if _shares(words)[0] >= ENGLISH_SHARE else None
    code = found[0]
    # Lingua's fast mode takes short English for Welsh ("help me pls") or for Polish or German
    # ("hes there now", "train to aberdeen, coach E"): the words have the last say.
    welsh, english, any_english = _shares(words)
    if code == WELSH and welsh < WELSH_SHARE:
        return ENGLISH if english >= ENGLISH_SHARE else None
    if code == ENGLISH and (welsh >= ENGLISH_SHARE or (welsh >= WELSH_SHARE and welsh > english)):
        return WELSH  # more Welsh than English words: a Welsh text with English in it
    if code not in (ENGLISH, WELSH) and any_english >= MOSTLY_ENGLISH:
        return ENGLISH
    return code


WELSH_SHARE = 0.25  # of a text's words, Welsh words that are not English ones too
ENGLISH_SHARE = 0.5
# Another language's text has few English words (French "il y a un enfant dans le train" has
# 0.45 of them, counting "a", "train", "dans"); an English text read as another has most.
MOSTLY_ENGLISH = 0.6


def _shares(words: list[str]) -> tuple[float, float, float]:
    """Shares of the words that are Welsh and not English, English and not Welsh ("a", "i",
    "o", "bore" and "car" count for neither), and English at all."""
    welsh = english = anyhow = 0
    for word in words:
        low = word.lower()
        in_english, in_welsh = is_english_word(low), is_welsh_word(low)
        anyhow += in_english
        if in_english and not in_welsh:
            english += 1
        elif in_welsh and not in_english:
            welsh += 1
    n = len(words)
    return welsh / n, english / n, anyhow / n





@dataclass(frozen=True)
class Languages:
    """A conversation's language and the last text's, as the engine keeps them."""

    conversation: str | None  # None until a text in words (or a preference) sets it
    last: str | None  # the language of the previous text in words

    def after(self, text: str, language: str | None) -> Languages:
        """The conversation's language once a text in `language` (None: not in words) is read."""
        if switch_to(text) is not None:
            return Languages(language, language)
        if language is None:
            return self
        if self.conversation is None:
            return Languages(language, language)
        if language != self.conversation and language == self.last:
            return Languages(language, language)  # a second text running: a clear switch
        return Languages(self.conversation, language)


def answer_language(conversation: str | None) -> str:
    """The language the bot writes in: Welsh or English (others get English)."""
    return WELSH if conversation == WELSH else ENGLISH
