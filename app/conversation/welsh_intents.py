"""The Welsh keywords that ask something of the service, and Welsh yes and no.

Welsh public bodies' text services keep the English STOP (carriers act on it whatever the
language) and add Welsh forms beside it; so do we: STOP always works. Keywords count only as
the whole message, as the English ones do. Welsh answers yes and no with the verb of the
question ("Ydy hyn yn digwydd nawr?" - "Ydy" / "Nac ydy"), so each form of the verb counts.
"""

from __future__ import annotations

import re

from app.conversation.welsh import fold

STOP_WORDS = frozenset({"stopio", "dimmwy", "dimrhagor", "dadgofrestru", "dadtanysgrifio",
                        "daddanysgrifio", "gorffen", "diwedd", "dim"})
START_WORDS = frozenset({"dechrau", "ailddechrau", "dechra"})
HELP_WORDS = frozenset({"cymorth", "helpu", "gwybodaeth"})
YES = frozenset({"ie", "iawn", "ydy", "ydi", "yndi", "ydw", "yndw", "oes", "do", "ydyn",
                 "ydan", "ydyw", "yw", "mae", "ma", "bydd", "wrthi", "yn digwydd nawr",
                 "ydy mae", "ie mae", "oes mae"})
NO = frozenset({"na", "nage", "naddo", "nac ydy", "nac ydi", "nac oes", "nac ydw", "nid",
                "na dim", "nac ydyn", "nad yw"})

_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_SPACE = re.compile(r"[\s\-_]+")
_DISCREET = re.compile(
    r"(?<!\w)(?:methu siarad|(?:ddim|dim) yn gallu siarad|alla i ddim siarad"
    r"|pai?d(?:wch)? (?:a )?(?:ateb|tecstio|ffonio)|peidiwch (?:a )?(?:ateb|tecstio|ffonio)"
    r"|(?:gallu|gall|yn) gweld fy (?:ffon|sgrin|negeseuon)|dwi'?n cuddio|rwy'?n cuddio)(?!\w)"
)
_DONT_KNOW = re.compile(
    r"(?<!\w)(?:ddim yn gwybod|dim yn gwybod|sai'?n gwybod|sa i'?n gwybod|wn i ddim|dwn i ddim"
    r"|dim syniad|ddim yn siwr|dim yn siwr|ddim yn cofio)(?!\w)"
)


def _whole(text: str) -> str:
    return _EDGES.sub("", fold(text.strip()))


def welsh_intents(text: str, welsh: bool) -> frozenset[str]:
    """The intents (as intent.detect_intents names them) of a text in Welsh words. The
    keywords count whatever the conversation's language; yes, discretion and "don't know"
    only in a Welsh conversation ("do" and "ma" are English too)."""
    found: set[str] = set()
    whole = _whole(text)
    word = _SPACE.sub("", whole)
    if word in STOP_WORDS:
        found.add("stop")
    elif word in START_WORDS or (welsh and whole in YES):
        found.add("start")  # as for YES: only the engine knows if it restarts texts
    elif word in HELP_WORDS:
        found.add("help")
    if not welsh:
        return frozenset(found)
    low = fold(text)
    if _DISCREET.search(low):
        found.add("discreet")
    if _DONT_KNOW.search(low):
        found.add("dont_know")
    return frozenset(found)


def yes_or_no(text: str) -> str | None:
    """ "yes" or "no" for a whole text that is a Welsh yes or no, else None."""
    whole = _whole(text)
    if whole in YES:
        return "yes"
    if whole in NO:
        return "no"
    return None
