"""A crowd texting about one thing: inbox rows with their own arrival times, read as texts are."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.kit.db import unit_of_work
from app.models import Inbox

# Twenty passengers, one fight, their own words; all name the service, as people on it do.
FIGHT = [
    "fight on the 14:32 york to leeds coach C, lads punching each other",
    "massive fight on 14:32 from york to leeds, coach c",
    "2 men brawling on the 1432 york to leeds train now",
    "theres a punch up in coach C of the 14:32 york to leeds",
    "lads fighting on the 14:32 york to leeds, coach C, its kicking off",
    "help fight kicked off on the 14:32 york to leeds",
    "men punching each other on the 14:32 york to leeds train",
    "big fight coach c 14:32 york to leeds train pls send someone",
    "on the 14:32 york to leeds there is a fight going on now",
    "someone getting beaten up on the 14:32 york to leeds coach C",
    "fighting in coach C on the 14:32 york to leeds, scary",
    "2 lads fighting on the 14:32 york to leeds",
    "brawl on the 14:32 york to leeds right now",
    "theres a fight on my train the 14:32 york to leeds",
    "men fighting 14:32 york to leeds coach C now",
    "fight on 14:32 york to leeds train, 3 men",
    "fight happening now on the 14:32 york to leeds",
    "the 14:32 york to leeds has a fight in coach C",
    "lads scrapping on the 14:32 york to leeds coach C, getting nasty",
    "fight in coach c 14:32 york to leeds, someone hit",
]
THEFT = "someone just nicked my bag on the 14:32 york to leeds"


def phone(n: int) -> str:
    return f"+4477009{n:05d}"


def arrive(rt, texts: list[tuple[str, str, datetime]]) -> None:  # type: ignore[no-untyped-def]
    """Texts safely received (as the webhook leaves them), unread."""
    with unit_of_work(rt.sessions) as session:
        for i, (number, body, at) in enumerate(texts):
            session.add(Inbox(provider_sid=f"SMCROWD{at.timestamp():.0f}{i:04d}{number[-5:]}",
                              phone=number, to_number="61016", body=body, media=None,
                              received_at=at, attempts=0, next_attempt_at=at))


def crowd(start: datetime) -> list[tuple[str, str, datetime]]:
    """Twenty first texts within five minutes."""
    return [(phone(i), body, start + timedelta(seconds=15 * i)) for i, body in enumerate(FIGHT)]
