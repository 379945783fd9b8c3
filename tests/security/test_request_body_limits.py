"""Request bodies are capped before sign-in and before parsing: a stranger's 64 MB is refused
(413) as it arrives, never held in memory; forms are capped in fields and field size."""

from __future__ import annotations

import threading

import httpx
import pytest

from app.kit.config import Settings
from app.main import create_app
from app.sms.signature import sign
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.security.rawhttp import MB, Upload, memory_kb, post_large, reset_peak, textline_serve
from tests.sms.fake_twilio import fake_twilio  # noqa: F401

FORM = "application/x-www-form-urlencoded"
BIG = 64 * MB
# Routes a stranger reaches without signing in: the JSON API answers 401 only after FastAPI has
# read the body, and the sign-in form parses its body before it checks anything.
TARGETS = [("/api/cases/1/notes", "application/json", b'{"body": "'),
           ("/login", FORM, b"username=")]


def test_64_mb_bodies_to_an_api_route_and_a_form_route_never_reach_memory(
        database_url, fake_twilio, tmp_path):  # noqa: F811
    with textline_serve(database_url, fake_twilio, tmp_path / "server.log") as (port, pid):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            # Each route once, so that what a first request loads is not counted as growth.
            assert client.post("/api/cases/1/notes", json={"body": "x"}).status_code == 401
            assert client.post("/login", data={"username": "x"}).status_code in (200, 303, 400,
                                                                                403)
        reset_peak(pid)
        before = memory_kb(pid)["VmRSS"]
        results: dict[tuple[str, bool], Upload] = {}

        def send(path: str, ctype: str, prefix: bytes, chunked: bool) -> None:
            results[(path, chunked)] = post_large(port, path, ctype, prefix, BIG,
                                                  chunked=chunked)

        # All four at once, as a flood would send them: declared, and chunked with no length.
        threads = [threading.Thread(target=send, args=(*target, chunked))
                   for target in TARGETS for chunked in (False, True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        grown_mb = (memory_kb(pid)["VmHWM"] - before) / 1024
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert client.get("/healthz").status_code == 200
    print(f"\npeak server memory growth with four 64 MB bodies: {grown_mb:.1f} MB")
    for (path, chunked), (status, offered, reset) in sorted(results.items()):
        # A 413, or the reset of a server that closed on our unread bytes, which can discard the
        # 413 on its way: either way refused as it arrived.
        assert status == 413 or (status is None and reset), (
            f"{path} chunked={chunked}: {status} after {offered} bytes")
        # Refused early, not drained: what the kernel's buffers took is far short of 64 MB.
        assert offered < BIG // 4, f"{path} chunked={chunked}: {offered} bytes read"
    assert grown_mb < 40


def _app(settings_kwargs, **overrides):  # type: ignore[no-untyped-def]
    return create_app(Settings(**{**settings_kwargs, **overrides}))


@pytest.fixture
def small_cap(settings_kwargs):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(_app(settings_kwargs, max_request_bytes=32 * 1024),
                    base_url="https://textline.example.org") as c:
        yield c


def test_a_declared_body_over_the_cap_is_413_before_sign_in(client):
    body = b'{"body": "' + b"a" * MB + b'"}'
    resp = client.post("/api/cases/1/notes", content=body,
                       headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert resp.json() == {"detail": "request body larger than 1048576 bytes"}
    assert resp.headers["connection"] == "close"
    assert resp.headers["x-request-id"] and resp.headers["content-security-policy"]
    # Under the cap, the same route answers as before: sign in first.
    small = client.post("/api/cases/1/notes", json={"body": "a" * 1000})
    assert small.status_code == 401


def test_a_chunked_body_is_counted_as_it_arrives(small_cap):
    def pieces():  # no Content-Length: only counting the bytes can stop it
        for _ in range(64):
            yield b"a" * 1024

    resp = small_cap.post("/api/cases/1/notes", content=pieces(),
                          headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert resp.json()["detail"] == "request body larger than 32768 bytes"


def test_the_cap_is_the_setting(small_cap):
    just_over = small_cap.post("/login", content=b"username=" + b"a" * 32 * 1024,
                               headers={"Content-Type": FORM})
    assert just_over.status_code == 413
    assert Settings.model_fields["max_request_bytes"].default == MB


def test_a_form_is_capped_in_fields(client):
    fields = "&".join(f"f{i}=x" for i in range(200))  # the 200-field login
    resp = client.post("/login", content=fields, headers={"Content-Type": FORM})
    assert resp.status_code == 400
    assert "fields" in resp.json()["detail"].lower()


def test_a_form_field_as_large_as_the_body_is_the_caps_413_not_a_parser_error(small_cap):
    def pieces():  # one field, chunked: the form parser reads it as it comes
        yield b"username="
        for _ in range(64):
            yield b"a" * 1024

    resp = small_cap.post("/login", content=pieces(), headers={"Content-Type": FORM})
    assert resp.status_code == 413


def test_the_webhook_keeps_its_own_smaller_cap(client):
    url = "https://textline.example.org/webhooks/twilio/sms"
    form = {"MessageSid": "SM" + "a" * 32, "AccountSid": TEST_ACCOUNT_SID,
            "From": "+447700900123", "To": "61016", "Body": "a" * 20_000}
    resp = client.post(url, data=form, headers={"X-Twilio-Signature": sign(TEST_AUTH_TOKEN,
                                                                            url, form)})
    assert resp.status_code == 400  # over TEXTLINE_MAX_BODY_BYTES (16 KB), as documented
    assert "larger than 16384" in resp.json()["detail"]
