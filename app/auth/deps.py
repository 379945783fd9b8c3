"""Request dependencies: who is calling, and may they."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.service import Principal, principal_for_token
from app.db import utcnow
from app.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="Token from `textline token create`")


def current_principal(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if creds is not None and creds.scheme.lower() == "bearer":
        with request.app.state.read_sessions() as session:
            principal = principal_for_token(session, creds.credentials, utcnow())
        if principal is None:
            raise Unauthorized("invalid or expired token")
        return principal
    # The dashboard's cookie session, where installed, resolves here too.
    resolver = getattr(request.app.state, "session_principal", None)
    principal = resolver(request) if resolver else None
    if principal is None:
        raise Unauthorized("authentication required")
    return principal


def require(role: str) -> Callable[..., Principal]:
    def _check(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.has(role):
            raise Forbidden(f"needs the {role} role")
        return principal

    return _check
