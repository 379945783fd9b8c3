"""What the benchmarks share: serving a target in a subprocess, a lean HTTP/1.1 client, figures.

The clients are a few lines of asyncio over keep-alive sockets rather than a full HTTP library, so
that on a two-core machine the load generator takes as little CPU from the server as it can, and
takes the same from both targets. Every address is 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready at {url} after {timeout:.0f}s")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """End a server we started, its uvicorn worker children too (they share its process group)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@contextmanager
def serving(argv: list[str], env: Mapping[str, str], port: int, ready_path: str = "/healthz",
            log: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(argv, env={**os.environ, **env}, cwd=REPO, stdout=out, stderr=out,
                            start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}{ready_path}", proc)
        yield proc
    finally:
        stop(proc)
        if log:
            out.close()  # type: ignore[union-attr]


def textline_argv(port: int, workers: int = 1, *extra: str) -> list[str]:
    return [PYTHON, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), *extra]


def form_request(port: int, path: str, form: Mapping[str, str],
                 headers: Mapping[str, str] | None = None) -> bytes:
    """A whole POST of an urlencoded form, as bytes on the wire."""
    body = urlencode(form).encode()
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
            "Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Pipe(asyncio.Protocol):
    """The load client: one keep-alive connection, one request at a time, built beforehand.

    A protocol rather than asyncio's streams: a response is parsed where it arrives, in one
    callback, without the streams' two awaits and buffer copies. Under load the client shares
    the two cores with the server (and PostgreSQL); this one costs about half the CPU a
    request of the stream client (bench/README.md).
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiting: asyncio.Future[int] | None = None
        self.lost: Exception | None = None

    @classmethod
    async def open(cls, port: int) -> Pipe:
        loop = asyncio.get_running_loop()
        _, pipe = await loop.create_connection(cls, "127.0.0.1", port)
        return pipe

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, raw: bytes) -> asyncio.Future[int]:
        """Send one request; the future gives the response's status (OSError if lost)."""
        self.waiting = asyncio.get_running_loop().create_future()
        if self.lost is not None or self.transport is None:
            self.waiting.set_exception(OSError("connection lost"))
        else:
            self.transport.write(raw)
        return self.waiting

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"content-length:")
        length = int(head[at + 15:head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0
                          else len(head)]) if at >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        status = int(self.buffer[9:12])
        del self.buffer[:end + 4 + length]
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or OSError("connection closed")
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_exception(self.lost)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def fast_loop() -> None:
    """The client on uvloop where it is installed (uvicorn's standard extra brings it), as the
    servers are: asyncio's own loop costs the client more CPU for each request."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


class Connection:
    """One keep-alive HTTP/1.1 connection; responses must carry Content-Length."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def post_form(self, path: str, form: Mapping[str, str],
                        headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        return await self.request(form_request(self.port, path, form, headers))

    async def get(self, path: str, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        head = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        return await self.request(("\r\n".join(head) + "\r\n\r\n").encode())

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        body = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


@dataclass
class Figures:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(sorted(self.latencies_ms), q)


BENCH_PASSWORD = "correct-horse-battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(port: int, username: str = "bench", password: str = BENCH_PASSWORD) -> str:
    """Log in through the dashboard's own form; the session cookie, as a Cookie header value."""
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        token = _CSRF.search(client.get("/login").text)
        assert token, "no CSRF token on the login form"
        resp = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token.group(1), "next": "/"})
        if resp.status_code != 303:
            raise RuntimeError(f"sign-in failed: {resp.status_code}")
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())
