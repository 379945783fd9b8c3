"""`textline serve` lets go of a client that stops sending in the middle of a request (or never
starts one) within 10 s, and still keeps a live event stream open as long as it lasts."""

from __future__ import annotations

import select
import socket
import time

from bench.harness import sign_in
from tests.security.rawhttp import status_of, textline_serve
from tests.serverproc import PASSWORD, operator_token
from tests.sms.fake_twilio import fake_twilio  # noqa: F401

LIMIT = 10.0
HALF_OPEN = 300


def _connect(port: int, first: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if first:
        sock.sendall(first)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed it (EOF or reset); anything it sent first is read."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def test_half_open_connections_are_closed_within_10_s(database_url, fake_twilio,  # noqa: F811
                                                      tmp_path):
    operator_token(database_url, "oscar")
    with textline_serve(database_url, fake_twilio, tmp_path / "server.log") as (port, _pid):
        cookie = sign_in(port, "oscar", PASSWORD)
        stream = _connect(port, (f"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}"
                                 "\r\nAccept: text/event-stream\r\n\r\n").encode())
        head = stream.recv(65536)
        assert status_of(head) == 200
        kept = _connect(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert status_of(kept.recv(65536)) == 200
        began = time.monotonic()
        quiet = {
            "nothing sent": _connect(port),
            "part of a request line": _connect(port, b"GET /heal"),
            "headers never finished": _connect(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"),
            "a body that stops": _connect(port, b"POST /api/cases/1/notes HTTP/1.1\r\nHost: x"
                                                b"\r\nContent-Type: application/json\r\n"
                                                b"Content-Length: 100\r\n\r\n{\"body\": "),
            "a second request's head, on a kept-alive connection": kept,
        }
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost")
        for i in range(HALF_OPEN):  # as a flood of them would: one costs nothing to send
            quiet[f"half-open {i}"] = _connect(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-")
        closed_after: dict[str, float] = {}
        for sock in quiet.values():
            sock.setblocking(False)
        while len(closed_after) < len(quiet) and time.monotonic() - began < LIMIT + 5:
            waiting = [s for name, s in quiet.items() if name not in closed_after]
            readable, _, _ = select.select(waiting, [], [], 0.2)
            for name, sock in quiet.items():
                if sock in readable and _closed_by_server(sock):
                    closed_after[name] = time.monotonic() - began
        # The stream, open all along and quiet for as long, is still there.
        stream.setblocking(False)
        assert not _closed_by_server(stream), "a live event stream was cut"
        stream.close()
        for sock in quiet.values():
            sock.close()
    held = sorted(set(quiet) - set(closed_after))
    assert not held, f"still open after {LIMIT + 5:.0f} s: {held[:5]}"
    slowest = max(closed_after.values())
    print(f"\n{len(quiet)} quiet connections, all closed by the server within {slowest:.1f} s")
    assert slowest < LIMIT
