"""Exports stream: 200,000 messages leave a real server whose memory barely moves."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import insert

from app.kit.db import unit_of_work, utcnow
from app.models import Message
from tests.cases.test_actions_helpers import open_case
from tests.helpers import token_for
from tests.live import free_port

pytestmark = pytest.mark.slow
ROWS = 200_000
LIMIT_MB = 150
BODY = "lad about 14 with two older men on platform 4 at clapham jn now, they keep touching him "


def kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def fill(app, case_id: int) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    with unit_of_work(app.state.sessions) as session:
        for start in range(0, ROWS, 20_000):
            session.execute(insert(Message), [
                {"case_id": case_id, "direction": "inbound", "author": "reporter",
                 "body": f"{BODY}{i}", "status": "received", "created_at": now}
                for i in range(start, start + 20_000)])


@pytest.fixture
def server(database_url):  # type: ignore[no-untyped-def]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTLINE_")}
    env.update(TEXTLINE_DATABASE_URL=database_url, TEXTLINE_SMS_PROVIDER="console",
               TEXTLINE_LOG_LEVEL="WARNING", TEXTLINE_PUBLIC_URL=f"http://127.0.0.1:{port}")
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port),
                             "--no-worker"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("server did not start")
        time.sleep(0.1)
    try:
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_200k_messages_stream_in_constant_memory(app, client, server):
    proc, url = server
    case_id = open_case(client, app, "help at leeds")
    fill(app, case_id)
    headers = token_for(app, "supervisor", "sam")
    day = utcnow().astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d")
    params = {"from": day, "to": day}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        warm = http.get("/api/exports/cases.csv", params=params)  # imports, pools, caches
        assert warm.status_code == 200
        before = kib(proc.pid, "VmRSS")
        lines = size = 0
        began = time.monotonic()
        with http.stream("GET", "/api/exports/messages.csv", params=params) as resp:
            assert resp.status_code == 200
            for chunk in resp.iter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")  # one byte: never split between two chunks
        peak = kib(proc.pid, "VmHWM")
        took = time.monotonic() - began
    assert lines >= ROWS + 1  # the header, the 200,000 and the case's own messages
    assert size > ROWS * len(BODY)
    grown_mb = (peak - before) / 1024
    print(f"export of {lines - 1} messages ({size / 2**20:.0f} MiB) in {took:.1f} s: server RSS "
          f"{before / 1024:.0f} MiB before, peak {peak / 1024:.0f} MiB, grew {grown_mb:.1f} MiB")
    assert grown_mb < LIMIT_MB
