"""Delivering the outbound integration webhook: one outbox row (queued by app/dispatch/handlers.py)
POSTed as JSON to TEXTLINE_INTEGRATION_URL by the worker, signed with HMAC-SHA256 of the exact body,
retried with backoff until the receiver answers 2xx. X-Textline-Delivery carries the outbox id,
the same on every retry, so a receiver that saw a delivery before can drop the repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from app.kit.config import Settings
from app.sms.providers import SendError

INTEGRATION_TIMEOUT = 10.0
SIGNATURE_HEADER = "X-Textline-Signature"
DELIVERY_HEADER = "X-Textline-Delivery"


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """For receivers (and tests): compare in constant time."""
    return header is not None and hmac.compare_digest(signature(secret, body), header)


class IntegrationSender:
    """Delivers one outbox row's payload; raises SendError classified like a text's."""

    def __init__(self, settings: Settings, *, timeout: float = INTEGRATION_TIMEOUT) -> None:
        self.url = settings.integration_url
        self.secret = (settings.integration_secret.get_secret_value()
                       if settings.integration_secret is not None else None)
        self.client = httpx.Client(timeout=timeout, follow_redirects=False,
                                   headers={"User-Agent": "textline-integration/1"})

    def deliver(self, delivery_id: int, payload: dict[str, Any]) -> None:
        if not self.url or self.secret is None:
            raise SendError("integration URL or secret not configured", transient=False)
        body = encode_body(payload)
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: signature(self.secret, body),
                   DELIVERY_HEADER: str(delivery_id)}
        try:
            resp = self.client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise SendError("integration: no answer in time", transient=True,
                            maybe_sent=True) from None
        except httpx.TransportError as exc:
            raise SendError(f"integration: {type(exc).__name__}", transient=True,
                            maybe_sent=True) from None
        if 200 <= resp.status_code < 300:
            return
        reason = f"integration answered HTTP {resp.status_code}"
        if resp.status_code in (408, 425, 429) or resp.status_code >= 500:
            raise SendError(reason, transient=True, maybe_sent=resp.status_code >= 500)
        raise SendError(reason, transient=False)

    def close(self) -> None:
        self.client.close()
