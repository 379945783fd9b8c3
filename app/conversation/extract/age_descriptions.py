"""Words that give an age without a number: "school uniform", "young teen", "grown men".

Each is a pattern with the youngest and oldest age it suggests (None: no bound). The age
extractor (age.py) weighs them against numbers; a number beats a description.
"""

from __future__ import annotations

import re

# Descriptions, most specific first (at one position the first that fits wins).
DESCRIPTIONS: tuple[tuple[str, int | None, int | None], ...] = (
    (r"primary[\s-]*school(?:[\s-]*(?:age[d]?|kids?|child(?:ren)?|boys?|girls?|pupils?))?", 5, 11),
    (
        r"secondary[\s-]*school(?:[\s-]*(?:age[d]?|kids?|child(?:ren)?|boys?|girls?|pupils?))?",
        11,
        16,
    ),
    (r"(?:in\s+(?:a\s+|his\s+|her\s+|their\s+)?)?school[\s-]*(?:uniforms?|trousers|skirts?|jumpers?"
     r"|blazers?|ties?|shoes|bags?|shirts?)", 5, 17),
    (r"school[\s-]*(?:kids?|boys?|girls?|child(?:ren)?|pupils?)", 5, 17),
    (r"pre-?teens?|tweens?", 9, 12),
    (r"(?:young|early)[\s-]*teen(?:s|agers?)?", 12, 15),
    (r"mid[\s-]*teens", 14, 16),
    (r"late[\s-]*teens", 17, 19),
    (r"(?:in\s+(?:his|her|their)\s+)?teen(?:s|agers?|age[d]?)?", 13, 19),
    (r"(?:little|lil|small|young)\s+(?:yutes?|youts?)", 8, 15),
    (r"yutes?|youts?", 12, 19),
    (r"(?:little|lil|small|tiny)\s+(?:boys?|girls?|kids?|ones?|lads?|child(?:ren)?)", 3, 11),
    (r"nippers?|bairns?|wee\s+(?:boys?|girls?|lads?|lassies?|ones?|yins?|bairns?)", 3, 12),
    (r"young\s+(?:uns?|ones?)", 8, 15),
    (r"young\s+(?:boys?|girls?|kids?|child(?:ren)?)", 5, 14),
    (r"toddlers?", 1, 3),
    (r"bab(?:y|ies)|infants?|newborns?", 0, 1),
    (r"kids?|child(?:ren)?|youngsters?", 4, 17),
    (r"minors?|under[\s-]*age|juveniles?", None, 17),
    (r"grown[\s-]*(?:men|man|women|woman|adults?|ups?)|adults?", 18, None),
    (r"middle[\s-]*aged", 40, 60),
    (
        r"(?:old|elderly)\s+(?:man|men|woman|women|lady|ladies|gentleman|gent|fella|bloke|guy"
        r"|couple|person|people|chap|boy|geezer)|elderly|pensioners?|oaps?|senior\s+citizens?",
        60,
        None,
    ),
    (r"sixth[\s-]*form(?:ers?)?|6th[\s-]*form(?:ers?)?|a[\s-]*level\s+students?", 16, 18),
    (r"(?:uni|university)\s+students?", 18, 25),
    (r"college\s+students?", 16, 19),
    (r"students?", 16, 25),
)
DESCRIPTION = re.compile(
    r"(?<!\w)(?:"
    + "|".join(f"(?P<d{i}>{p})" for i, (p, _, _) in enumerate(DESCRIPTIONS))
    + r")(?!\w)"
)
