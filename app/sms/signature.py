"""Twilio request signatures, checked against the public URL Twilio called.

Behind a TLS-terminating proxy the app sees http://internal:8000/..., but Twilio signed
https://public.example/...; so the URL is rebuilt from TEXTLINE_PUBLIC_URL plus the request's
own path and query string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def public_request_url(public_url: str, path: str, query: str) -> str:
    url = public_url.rstrip("/") + path
    return f"{url}?{query}" if query else url


def signature_valid(auth_token: str, url: str, params: Mapping[str, str], signature: str | None) -> bool:
    # A signature is base64: anything else is forged, and compare_digest refuses non-ASCII str.
    if not signature or not signature.isascii():
        return False
    # Twilio signs the URL it called, which is ours exactly: one HMAC settles the usual case.
    # The library's check also tries the URL with and without its default port, two HMACs and
    # two URL parses on every request (a sixth of the webhook's time under load), so it is
    # kept for the rest.
    if hmac.compare_digest(_sha1_signature(auth_token, url, params), signature):
        return True
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def _sha1_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's scheme: the URL, then each parameter's name and value in name order, HMAC-SHA1."""
    signed = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio would send: for the simulator, tests and benchmarks."""
    return RequestValidator(auth_token).compute_signature(url, dict(params))
