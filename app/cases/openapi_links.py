"""OpenAPI links between the case operations: where the id in one answer can be used next.

They document the natural walk through the API (list the cases, read one, act on it, read it
again), and let a client generator or a stateful test (tests/security/test_stateful_api.py)
follow it without guessing which field is which id.
"""

from __future__ import annotations

from typing import Any

# JSON pointers to the operations (paths are part of the contract; operation ids are generated).
_CASE = "#/paths/~1api~1cases~1{case_id}"
READ = f"{_CASE}/get"
ACTIONS = {"ReplyToIt": f"{_CASE}~1messages/post", "ClaimIt": f"{_CASE}~1claim/post",
           "AddANote": f"{_CASE}~1notes/post", "OverrideTheDecision": f"{_CASE}~1decision/post",
           "CloseIt": f"{_CASE}~1close/post"}

FIRST_LISTED = "$response.body#/items/0/id"
THIS_CASE = "$response.body#/id"
SAME_PATH = "$request.path.case_id"


def _link(ref: str, case_id: str, description: str) -> dict[str, Any]:
    return {"operationRef": ref, "parameters": {"case_id": case_id}, "description": description}


def read_case(case_id: str) -> dict[str, Any]:
    """The links of an answer after which the case is worth reading again."""
    return {"ReadTheCase": _link(READ, case_id, "The case as it now stands.")}


def act_on_case(case_id: str) -> dict[str, Any]:
    """The links of an answer naming a case an operator may act on."""
    return {name: _link(ref, case_id, "An operator action on this case.")
            for name, ref in ACTIONS.items()}


def links(status: int, found: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """For a route's `responses=`: FastAPI merges them into the response it describes."""
    return {status: {"links": found}}
