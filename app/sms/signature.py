"""Twilio request signatures, checked against the public URL Twilio called.

Behind a TLS-terminating proxy the app sees http://internal:8000/..., but Twilio signed
https://public.example/...; so the URL is rebuilt from TEXTLINE_PUBLIC_URL plus the request's
own path and query string.
"""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def public_request_url(public_url: str, path: str, query: str) -> str:
    url = public_url.rstrip("/") + path
    return f"{url}?{query}" if query else url


def signature_valid(auth_token: str, url: str, params: Mapping[str, str], signature: str | None) -> bool:
    if not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio would send: for the simulator, tests and benchmarks."""
    return RequestValidator(auth_token).compute_signature(url, dict(params))
