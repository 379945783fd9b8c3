"""What the audit log may say about a texter's words: nothing verbatim.

Audit events are hash-chained and never change, so anything written there outlives retention.
The texter's own words (a fact's evidence, the location as typed, "about 14") therefore stay in
the case row, which retention redacts; the audit keeps the structured outcome: which station,
what age range, which risk indicators, how immediate. That is enough to reconstruct why the
dispatcher decided as it did, with the rule named in decision.made.
"""

from __future__ import annotations

import re
from typing import Any

_QUOTED = re.compile(r"'[^']*'")
_BRACKETED = re.compile(r"\s*\([^)]*\)")


def facts_summary(facts: dict[str, Any] | None) -> dict[str, Any]:
    """The facts without any free text the texter wrote."""
    facts = facts or {}
    loc = facts.get("location") or None
    age = facts.get("age") or None
    imm = facts.get("immediacy") or None
    out: dict[str, Any] = {}
    if loc:
        station = loc.get("station") or None
        out["location"] = {
            "station": station.get("crs") if station else None,
            "candidates": [c.get("crs") for c in loc.get("candidates") or ()],
            "platform": bool(loc.get("platform")),
            "train": bool(loc.get("train")),
            "coach": bool(loc.get("coach")),
        }
    if age:
        out["age"] = {"min": age.get("min"), "max": age.get("max"), "child": age.get("child")}
    if imm:
        out["immediacy"] = imm.get("value")
    out["risks"] = sorted({r.get("indicator") for r in facts.get("risks") or ()} - {None})
    return out


def textless_reasons(reasons: list[str] | tuple[str, ...] | None) -> list[str]:
    """Dispatch reasons with quoted evidence and bracketed words dropped:
    "weapon: 'knife'" -> "weapon", "child (about 14)" -> "child"."""
    cleaned = []
    for reason in reasons or ():
        text = _BRACKETED.sub("", _QUOTED.sub("", reason)).strip().rstrip(":").strip()
        cleaned.append(text)
    return cleaned


def textless_decision(decision: dict[str, Any]) -> dict[str, Any]:
    return {**decision, "reasons": textless_reasons(decision.get("reasons"))}
