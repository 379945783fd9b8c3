"""One received text, as the webhook parsed it: what the inbox stores and the processor reads."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Inbound:
    sid: str
    phone: str
    to: str
    body: str
    media: list[str] = field(default_factory=list)
