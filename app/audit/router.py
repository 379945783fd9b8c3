"""Supervisor routes over the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from app.audit.service import verify
from app.auth.deps import require
from app.auth.service import Principal

router = APIRouter(prefix="/api/audit", tags=["audit"])


class VerifyOut(BaseModel):
    ok: bool
    events: int
    first_bad: int | None


@router.get("/verify", response_model=VerifyOut,
            responses={401: {"description": "No credentials"}, 403: {"description": "Not a supervisor"}})
def audit_verify(request: Request, _: Principal = Depends(require("supervisor"))) -> VerifyOut:
    with request.app.state.sessions() as session:
        result = verify(session)
    return VerifyOut(ok=result.ok, events=result.events, first_bad=result.first_bad)
