"""Phone numbers as Twilio gives them (E.164), checked before they are stored."""

from __future__ import annotations

import re

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def normalise_phone(raw: str) -> str | None:
    """E.164 or None. UK national numbers (07...) become +44...; short codes pass through."""
    text = re.sub(r"[\s().-]", "", raw or "")
    if text.startswith("00"):
        text = "+" + text[2:]
    elif text.startswith("0") and len(text) == 11:
        text = "+44" + text[1:]
    if _E164.match(text):
        return text
    if text.isdigit() and 3 <= len(text) <= 8:  # a short code such as 61016
        return text
    return None
