"""Four-text conversations as passengers send them, for the load benchmark.

Written for the benchmark (not the acceptance corpus): each is what a texter sends in order,
the bot's questions answered in the texter's own words. Phones and MessageSids are made unique
per run, so every request is new work for the server.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

SCRIPTS: tuple[tuple[str, str, str, str], ...] = (
    ("theres a lad being pushed about by 2 older men", "platform 3 at leeds",
     "about 15", "yes still happening"),
    ("man on the train keeps touching a girls leg she looks scared", "on the train to brighton",
     "she looks 16 maybe", "right now"),
    ("someone showing a knife in the carriage", "coach C, just left clapham jn",
     "30s", "now"),
    ("group of kids shouting abuse at an old man", "kings x", "teenagers like 14",
     "about 10 mins ago"),
    ("a girl in school uniform with an older guy who keeps taking her phone",
     "manchester piccadilly platform 13", "13 or 14", "yes now"),
    ("drunk bloke being aggressive to staff", "euston", "dunno 40s", "this was yesterday"),
    ("someone left a bag and walked off", "birmingham new street plat 6", "not sure",
     "just now"),
    ("boy about 12 on his own crying, older men keep talking to him", "waterloo",
     "12", "yeah ongoing"),
    ("two lads fighting on the platform", "at reading station", "maybe 20",
     "happening now"),
    ("a man is following a woman off the train", "york", "she is about 25", "now"),
)


@dataclass(frozen=True)
class Text:
    phone: str
    sid: str
    body: str


def conversations(count: int, run: int = 0) -> Iterator[list[Text]]:
    """`count` conversations from distinct phones, each four texts with unique MessageSids."""
    tag = secrets.token_hex(4)
    for i in range(count):
        phone = f"+4477{run % 100:02d}{i:06d}"
        script = SCRIPTS[i % len(SCRIPTS)]
        yield [Text(phone, f"SM{tag}{i:07d}{n}{'0' * 20}", body) for n, body in enumerate(script)]
