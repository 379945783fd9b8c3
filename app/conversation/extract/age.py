"""Age of the person a text is about: "14", "about 14", "13 or 14", "fourteen", "young teen".

How it decides, so a reviewer can follow it:
1. Candidates. Every number (digits or words, numbers.py) and every age description ("in his
   40s", "school uniform", "grown men"; age_descriptions.py) in the text is a candidate.
2. A number is not an age when its neighbours say it is something else: a time ("14:32"),
   a platform, coach or seat ("plat 4"), money ("£20", "20 quid"), a duration or count
   ("20 mins", "3 stops", "2 lads", "group of 5"), a date ("28th"), part of a code ("1A23")
   or a longer number (phone numbers). Nor is a number in markup or code: inside a tag
   ("<img ... alert(2)>") or a call's argument glued to a name ("alert(2)", "f(12)").
3. A number that is left counts when something marks it as an age: "year old"/"yo", an
   approximation ("about", "maybe", "looks", "ish", "i reckon"), a copula ("im", "shes",
   "whos", "is"), or a person word just before it ("girl of 12", "lad, 16"). A bare number
   ("14", "12 or 13") counts only as a short answer, or when the caller says the bot has
   just asked for an age (`answering=True`).
4. Which candidate. A report is about the person at risk, so: a child before an unsure age
   before an adult (the girl of 15, not her boyfriend of 25; the girl, not the texter who
   gave their own age); then a number before a description ("kid about 13" is 12-14, not
   "kid"); then the youngest; then the first.

Ranges: an approximation widens by one year under 20, two under 40, three above
("about 14" is 13-15, "about 25" 23-27). "child" is True when max < 18, False when
min >= 18, else None: "teenager" is 13-19 and so None (an 18 or 19 year old is a teenager
too); the range still tells an operator it is a young person, and the bot can ask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.conversation.extract.age_descriptions import DESCRIPTION, DESCRIPTIONS
from app.conversation.extract.numbers import DECADE_WORDS, NUM_WORD, number_value
from app.conversation.facts import Age

_NUM = r"(?:\d{1,2}|" + NUM_WORD + r")"

# A number or a small range; never glued to a longer number, a time, money or a code.
_CANDIDATE = re.compile(
    # Only after a space, an opening bracket or quote: "x=2", "£20", "a14", "1,000" are not ages.
    r"(?<![^\s(\[\"'“‘,~])"
    r"(?:between\s+(?P<b1>" + _NUM + r")\s+and\s+(?P<b2>" + _NUM + r")"
    r"|(?P<a>" + _NUM + r")(?:\s*(?P<sep>-|–|/|\bto\b|\bor\b)\s*(?P<b>" + _NUM + r"))?)"
    r"(?![\d:=<>@#&*|\\^_%/]|[.,]\d|['’]\d)"
)
_LETTER_SUFFIX = re.compile(r"(?:yo|y/o|y\.o\.?|yrs?|yro|ish|\+)(?![a-z])")
_EXPLICIT_AFTER = re.compile(
    r"\s*-?\s*(?:years?|yrs?|yr)\s*-?\s*old|\s*(?:yo|y/o|y\.o\.?|yro)(?!\w)"
    r"|\s*(?:years?|yrs?)\s+of\s+age"
)
_APPROX_AFTER = re.compile(
    r"\s*-?\s*ish(?!\w)|\s*,?\s*(?:maybe|mayb|prob|probably|i\s+(?:reckon|think|guess)"
    r"|i['’]?d\s+say|or\s+so|or\s+something|at\s+a\s+guess|at\s+most|tops|max|possibly"
    r"|perhaps|like|odd|or\s+older|or\s+younger|(?:he|she|they)\s+(?:says|said|say|reckons|told\s+me)"
    r"|apparently)(?!\w)|\+"
)
_YEARS_AFTER = re.compile(
    r"\s*(?:years?|yrs?)(?!\s*(?:ago|back|later|before|since|earlier|old|of)(?!\w))(?!\w)"
)
_UNIT_AFTER = re.compile(
    r"\s*-?\s*(?:somethings?|mins?|minutes?|mns|m|hrs?|hours?|h|secs?|seconds?|days?|nights?|weeks?|wks?"
    r"|months?|years?|yrs?|stops?|stations?|quid|pounds?|p|pence|k|grand|am|pm|a\.m|p\.m"
    r"|o['’]?clock|%|percent|times|x|carriages?|coaches|cars|miles?|mi|metres?|meters?"
    r"|yards?|yds|feet|foot|ft|inches|cm|kg|stone|mph|pints?|cans|bottles|tickets?|bags?"
    r"|people|persons|ppl|lads|men|boys|girls|guys|blokes|women|kids|children|teenagers"
    r"|teens|youths|males|females|others|other|more|officers|police|staff|trains|platforms"
    r"|this\s+(?:morning|afternoon|evening)|tonight|last\s+night|in\s+the\s+(?:morning|evening)"
    r"|of\s+(?:them|us|em|those|these|the|my|his|her|their))(?!\w)"
    r"|\s+(?:older|old|young|younger|big|small|little|other|adult|grown|teenage|teen|masked"
    r"|drunk|white|black|asian|hooded|more)\s+(?:lads|men|boys|girls|guys|blokes|women|kids"
    r"|people|males|females|teenagers|youths)(?!\w)"
    r"|\s*(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?!\w)"
)
_WORDS = re.compile(r"[a-z0-9'’]+|[.!?;:]")
# Markup is not what a texter says: "<img src=x onerror=alert(2)>". A tag opens with a letter,
# "/" or "!" so that "<3" and "< 16" stay text.
_TAG = re.compile(r"<[a-z/!][^<>]*>")

_EXCLUDE_BEFORE = frozenset(
    "platform platforms plat plats pl pf p coach coaches carriage car seat seats row bus route"
    " number no num gate exit door bay stand stop line room flat house unit zone terminal"
    " level floor junction jn jct track the at since till til until by from after before"
    " page year yr and than to for train service headcode ticket tickets ref reference"
    " code pin call ring phone text minute minutes mins hour hours channel under over".split()
)
_TIME_PREP = frozenset(
    "at since till til until by from after before night morning evening afternoon tonight"
    " lunchtime midnight".split()
)
_COLLECTIVE = frozenset(
    "group gang bunch crowd lot load loads total couple pack set queue out one all team"
    " squad crew two three four five few".split()
)
_APPROX = frozenset(
    "about around abt approx approximately roughly maybe mayb prob probably possibly perhaps"
    " like bout circa reckon guess say think nearly almost looks look looked looking seems"
    " seem seemed".split()
)
_COPULA = frozenset(
    "im iam am hes shes whos theyre were is was are r aged age turned turning".split()
)
_PERSON = frozenset(
    "lad lads boy boys girl girls kid kids child son daughter yute youth teen teenager man"
    " woman guy bloke lady person fella victim he she someone brother sister"
    " bro mate mum dad father mother niece nephew grandson granddaughter cousin pupil student".split()
)
_PLACE = frozenset(
    "platform plat coach carriage train seat bus stop gate it that this there which what time"
    " number".split()
)
_SKIP = frozenset(["of", "a", "an", "only", "just", "like", "i", "id", "would", "all", "both"])

_DECADE = r"(?:[2-9]0['’]?s|" + "|".join(DECADE_WORDS) + ")"
_DECADES = re.compile(
    r"(?<![\w£$€#:./])(?:in\s+(?:his|her|their)\s+)?(?:(?P<q1>early|mid|late)[\s-]*)?(?P<d1>"
    + _DECADE
    + r")"
    r"(?:\s*(?:and|or|to|-|/|&)\s*(?:(?P<q2>early|mid|late)[\s-]*)?(?P<d2>" + _DECADE + r"))?"
    r"(?!\w)"
    r"|(?<!\w)(?P<ds>[2-9]0|twenty|thirty|forty|fifty|sixty|seventy)[\s-]*somethings?(?!\w)"
)
_SCHOOL_YEAR = re.compile(
    r"(?<![\w])(?P<pre>\w+\s+)?(?:year|yr)\s*(?P<y>[1-9]|1[0-3])s?(?!\w)(?!\s*(?:ago|old))"
)
# An upper or lower bound in words: "can't be more than 14", "no older than 12", "at least 16".
_BOUND = re.compile(
    r"(?<!\w)(?:(?P<up>(?:can['’]?t|cannot|couldn['’]?t|could\s+not|wouldn['’]?t)\s+be\s+(?:(?:more|older)"
    r"\s+than|over|any\s+older\s+than)|(?:no|not|isn['’]?t|aint)\s+(?:any\s+)?(?:more|older)\s+than|at\s+(?:the\s+)?most"
    r"|younger\s+than|less\s+than|max(?:imum)?\s+of|tops)"
    r"|(?P<low>at\s+least|no\s+younger\s+than|older\s+than|more\s+than|over\s+the\s+age\s+of))"
    r"\s+(?:about\s+|like\s+|maybe\s+)?(?P<n>\d{1,2}|" + NUM_WORD + r")(?![\w:.]\d)(?!\s*(?:mins?|minutes"
    r"|hours?|hrs?|quid|pounds|p\b|people|of\s+them|times|stops|seconds|secs))"
)
_UNDER_OVER = re.compile(r"(?<!\w)(?P<w>under|over)[\s-]*(?P<n>1[0-9]|[2-9]0|\d)(?![\w:])")

_SHORT_ANSWER_WORDS = 5


def _child(lo: int | None, hi: int | None) -> bool | None:
    if hi is not None and hi < 18:
        return True
    if lo is not None and lo >= 18:
        return False
    return None


def _tolerance(n: int) -> int:
    return 1 if n < 20 else 2 if n < 40 else 3


def _approximate(lo: int, hi: int | None, word: str) -> tuple[int, int | None]:
    """Bounds for "about 14", "16 at most", "18+", "30 or older"; a range stays as given."""
    word = word.strip(" ,-")
    if word == "+":
        return lo, None
    if lo != hi or hi is None:
        return lo, hi
    tol = _tolerance(lo)
    if word in ("at most", "tops", "max", "or younger"):
        return max(lo - 2 * tol, 0), hi
    if word == "or older":
        return lo, None
    return lo - tol, hi + tol


@dataclass(frozen=True, slots=True)
class _Candidate:
    start: int
    end: int
    lo: int | None
    hi: int | None
    numeric: bool  # a number, range or decade, as against a description


def _prev_words(low: str, start: int) -> list[tuple[str, int]]:
    """The last few words before `start`, apostrophes dropped, with their offsets."""
    words = list(_WORDS.finditer(low, max(0, start - 60), start))[-5:]
    return [(m.group().replace("'", "").replace("’", ""), m.start()) for m in words]


def _appositive(low: str, start: int, end: int, prev: list[tuple[str, int]]) -> tuple[str, bool, int] | None:
    """A number set off by commas after the person it is said of: "a girl from my daughters
    school, 14, has been missing"."""
    if not (low[:start].rstrip().endswith(",") and low[end : end + 1] == ","):
        return None
    for w, _at in reversed(prev[-8:]):
        if w in _PERSON:
            return ("cue", True, start)
        if w in (".", "!", "?", ";"):
            break
    return None


def _cue_before(prev: list[tuple[str, int]]) -> tuple[str, bool, int] | None:
    """(kind, usable, start of the cue words) for the words before a number, or None.

    kind is "approx" ("about", "looks") or "cue" ("im", "whos", "girl of").
    """
    kind = None
    cue_start = -1
    if len(prev) >= 3 and prev[-1][0] in ("and", "n") and prev[-3][0] in ("is", "hes", "shes"):
        # "my son is autistic and 12": the number is the second thing said of the person.
        prev = prev[:-2]
    i = len(prev) - 1
    while i >= 0 and len(prev) - i <= 4:
        w, at = prev[i]
        if w in _APPROX:
            kind = "approx"
        elif w in _COPULA:
            if w in ("is", "was", "are", "r") and i > 0 and prev[i - 1][0] in _PLACE:
                return ("cue", False, at)
            kind = kind or "cue"
        elif w in _PERSON:
            kind = kind or "cue"
            cue_start = at
            break
        elif w not in _SKIP:
            break
        if kind is not None:
            cue_start = at
        i -= 1
    if kind is None:
        return None
    # "at about 8", "since about 8": a time of day, not an age.
    before = prev[i][0] if 0 <= i < len(prev) and prev[i][0] not in _PERSON else None
    return (kind, before not in _TIME_PREP, cue_start)


def _is_code(low: str, start: int, prev: list[tuple[str, int]], tags: list[range]) -> bool:
    """A number inside a tag, or a call's argument glued to a name: "alert(2)", "f(12)".

    A bracket glued to a person word is a texter skipping a space: "boy(12)" is still an age.
    """
    if any(start in tag for tag in tags):
        return True
    glued_to = low[start - 2] if start >= 2 and low[start - 1] == "(" else " "
    if not (glued_to.isalnum() or glued_to in "_$"):
        return False
    return not prev or (prev[-1][0] not in _PERSON and prev[-1][0] not in ("age", "aged"))


_NEAR_PERSON = re.compile(r"(?<![a-z])(?:" + "|".join(sorted(_PERSON)) + r")s?(?![a-z])")


def _child_range(low: str, start: int, sep: str | None, lo: int, hi: int | None) -> bool:
    """ "lad at carlisle stn, 11 or 12": a narrow range of child ages just after a person."""
    if sep not in ("or", "-", "–", "to") or hi is None or not (5 <= lo < hi <= 17 and hi - lo <= 2):
        return False
    return bool(_NEAR_PERSON.search(low, max(0, start - 50), start))


def _numbers(low: str, bare_ok: bool) -> list[_Candidate]:
    found: list[_Candidate] = []
    tags = [range(*t.span()) for t in _TAG.finditer(low)] if "<" in low else []
    for m in _CANDIDATE.finditer(low):
        start, end = m.span()
        if m.group("b1"):
            lo, hi, sep = number_value(m.group("b1")), number_value(m.group("b2")), "to"
        else:
            lo, sep = number_value(m.group("a")), m.group("sep")
            hi = number_value(m.group("b")) if m.group("b") else lo
        if lo is None or hi is None or lo < 1 or hi > 99:
            continue
        if hi != lo and not (0 < hi - lo <= (5 if sep in ("-", "–", "/") else 10)):
            if sep == "/":  # a date such as 28/11
                continue
            hi, end = lo, m.end("a")
        rest = low[end:]
        if rest[:1].isalpha() and not _LETTER_SUFFIX.match(rest):
            continue  # "28th", "5ft", "1a23"
        prev = _prev_words(low, start)
        if _is_code(low, start, prev, tags):
            continue
        if prev and prev[-1][0] == ":":  # "age: 14"
            prev = prev[:-1]
        last = prev[-1][0] if prev else ""
        if last in ("aged", "age"):
            found.append(_Candidate(prev[-1][1], end, lo, hi, True))
            continue
        explicit = _EXPLICIT_AFTER.match(low, end)
        if explicit:
            found.append(_Candidate(start, explicit.end(), lo, hi, True))
            continue
        years = _YEARS_AFTER.match(low, end)  # "14 yrs" as an answer; "2 years ago" is not
        if years and last in ("have", "has", "having"):
            found.append(_Candidate(start, years.end(), lo, hi, True))  # "she have 15 years"
            continue
        if years:
            end = years.end()
        elif _UNIT_AFTER.match(low, end):
            continue
        if last in _EXCLUDE_BEFORE:
            continue
        if len(prev) >= 2 and last == "of" and prev[-2][0] in _COLLECTIVE:
            continue
        approx_after = _APPROX_AFTER.match(low, end)
        cue = _cue_before(prev) or _appositive(low, start, end, prev)
        if cue is not None and not cue[1]:
            continue
        if cue is None and approx_after is None and not bare_ok and not _child_range(low, start, sep, lo, hi):
            continue
        if approx_after is not None:
            lo, hi = _approximate(lo, hi, approx_after.group())
            end = approx_after.end()
        elif cue is not None and cue[0] == "approx":
            lo, hi = _approximate(lo, hi, "about")
        if cue is not None:
            start = cue[2]
        found.append(_Candidate(start, end, lo, hi, True))
    return found


def _decade_bounds(word: str, qualifier: str | None) -> tuple[int, int]:
    base = DECADE_WORDS.get(word) or int(word[:2])
    if qualifier == "early":
        return base, base + 3
    if qualifier == "mid":
        return base + 3, base + 6
    if qualifier == "late":
        return base + 6, base + 9
    return base, base + 9


def _decades(low: str) -> list[_Candidate]:
    found = []
    for m in _DECADES.finditer(low):
        prev = _prev_words(low, m.start())
        if prev and prev[-1][0] == "the":
            continue  # "the 80s": an era
        if m.group("ds"):
            base = number_value(m.group("ds")) or 20
            lo, hi = base, base + 9
        else:
            lo, hi = _decade_bounds(m.group("d1"), m.group("q1"))
            if m.group("d2"):
                hi = _decade_bounds(m.group("d2"), m.group("q2"))[1]
        found.append(_Candidate(m.start(), m.end(), lo, hi, True))
    return found


def _descriptions(low: str) -> list[_Candidate]:
    found = []
    for m in DESCRIPTION.finditer(low):
        index = int(next(k for k, v in m.groupdict().items() if v is not None)[1:])
        lo, hi = DESCRIPTIONS[index][1], DESCRIPTIONS[index][2]
        prev = _prev_words(low, m.start())
        if (
            lo == 60
            and prev
            and prev[-1][0] in ("my", "your", "his", "her", "their", "ur", "year", "years")
        ):
            continue  # "my old man" is a father; "15 year old man" is read as a number
        if prev and prev[-1][0] in ("no", "without", "any", "nor"):
            continue  # "no adult anywhere", "without any grown-ups": nobody's age
        found.append(_Candidate(m.start(), m.end(), lo, hi, False))
    for m in _SCHOOL_YEAR.finditer(low):
        pre = (m.group("pre") or "").strip()
        if pre in ("last", "this", "next", "per", "each", "every", "that", "the"):
            continue
        counted = pre.isdigit() or number_value(pre) is not None  # "2 yr 8 boys"
        if _UNIT_AFTER.match(low, m.end()) and not counted:
            continue  # "year 2 lads" is not a school year
        y = int(m.group("y"))
        found.append(_Candidate(m.start() + len(m.group("pre") or ""), m.end(), y + 4, y + 5, True))
    for m in _BOUND.finditer(low):
        n = number_value(m.group("n"))
        if n is None or not 1 < n < 99 or _UNIT_AFTER.match(low, m.end()):
            continue  # "more than 4 coaches"
        lo, hi = (max(n - 3, 0), n) if m.group("up") else (n, n + 3)
        found.append(_Candidate(m.start(), m.end(), lo, hi, True))
    for m in _UNDER_OVER.finditer(low):
        n = int(m.group("n"))
        lo, hi = (None, n - 1) if m.group("w") == "under" else (n, None)
        found.append(_Candidate(m.start(), m.end(), lo, hi, True))
    return found


def _inside(n: _Candidate, d: _Candidate) -> bool:
    lo_ok = d.lo is None or (n.lo is not None and n.lo >= d.lo)
    hi_ok = d.hi is None or (n.hi is not None and n.hi <= d.hi)
    return lo_ok and hi_ok


def _rank(c: _Candidate) -> tuple[int, int, int, int]:
    child = _child(c.lo, c.hi)
    group = 0 if child is True else 1 if child is None else 2
    return (group, 0 if c.numeric else 1, c.hi if c.hi is not None else 999, c.start)


_GROWN = re.compile(
    r"(?:(?:a|an|the|two|2|three|3|both|some|all)\s+)?(?:grown\s+)?"
    r"(?:man|men|woman|women|bloke|blokes|guy|guys|gent|gents|lady|ladies|fella|fellas|geezer)"
    r"(?:\s+(?:i\s+think|i\s+reckon|probably|maybe))?[.!]?"
)


def extract_age(text: str, *, answering: bool | None = None) -> Age | None:
    """The age of the person the text is about, or None.

    `answering`: True when the bot has just asked for an age (a bare number anywhere in the
    reply is an age), False when it asked something else (a bare "4" is more likely a
    platform), None when unknown (a bare number counts only in a short text: "13 i reckon").
    """
    low = text.lower()
    source = text if len(low) == len(text) else low
    bare_ok = answering is True or (
        answering is None and len(_WORDS.findall(low)) <= _SHORT_ANSWER_WORDS
    )
    candidates = _numbers(low, bare_ok) + _decades(low) + _descriptions(low)
    if not candidates:
        m = _GROWN.fullmatch(low.strip()) if answering else None
        # Asked their age, "a man" or "women" says adult, if nothing more.
        return Age(text=text.strip(), min=18, max=None, child=False) if m else None
    # A number inside a description's range says the same more exactly: "20ish, student type".
    numbers = [c for c in candidates if c.numeric]
    candidates = [c for c in candidates if c.numeric or not any(_inside(n, c) for n in numbers)]
    best = min(candidates, key=_rank)
    lo, hi = best.lo, best.hi
    return Age(text=source[best.start : best.end].strip(), min=lo, max=hi, child=_child(lo, hi))
