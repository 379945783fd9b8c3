"""Text that people type into the API: trimmed, bounded, and free of control characters.

PostgreSQL refuses NUL in text and JSON, and no person means one; other C0 controls would
only hide things from the operator reading the transcript. Newlines and tabs are fine.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_controls(value: str) -> bool:
    return _CONTROL.search(value) is not None


def _no_controls(value: str) -> str:
    if has_controls(value):
        raise ValueError("must not contain control characters")
    return value


def typed_text(limit: int) -> object:
    """Annotated[str, typed_text(500)]: stripped, 1..limit characters, no control characters."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=limit),
                     AfterValidator(_no_controls)]
