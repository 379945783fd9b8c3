"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.kit.migrate import current_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    rt = request.app.state.runtime
    try:
        current = await run_in_threadpool(current_revision, rt.engine)
    except Exception:
        # Not ready, so that a balancer prefers a healthy instance; the webhook here still
        # answers 200, keeping texts in its spool (docs/outage.md).
        spooled = {} if rt.spool is None else {"spooled": rt.spool.depth()[0]}
        return JSONResponse({"status": "unavailable", "detail": "database unreachable",
                             **spooled}, 503)
    head = request.app.state.head_revision
    if current != head:
        return JSONResponse({"status": "unavailable",
                             "detail": f"database at {current}, code expects {head}"}, 503)
    return JSONResponse({"status": "ok", "revision": current})
