"""Request dependencies: who is calling, and may they."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.service import Principal, resolve_token, token_used
from app.kit.db import utcnow
from app.kit.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="Token from `textline token create`")


def current_principal(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if creds is not None and creds.scheme.lower() == "bearer":
        now = utcnow()
        with request.app.state.read_sessions() as session:
            found = resolve_token(session, creds.credentials, now)
        if found is None:
            raise Unauthorized("invalid or expired token")
        principal, touch = found
        if touch is not None:  # at most hourly: the read above is all most requests cost
            with request.app.state.runtime.work() as session:
                token_used(session, touch, now)
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
