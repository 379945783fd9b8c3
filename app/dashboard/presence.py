"""Who has which case open right now, so that two operators don't answer one texter at once.

A case page holds a live event stream while it is open; the stream joins on connect and leaves
when the browser goes away. This lives in one process's memory: with several processes, each
knows only its own viewers (the events relay can carry "case.viewing" between them).
"""

from __future__ import annotations

import itertools
import threading


class Presence:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._viewers: dict[int, dict[int, str]] = {}  # case id -> {connection: username}
        self._ids = itertools.count(1)

    def join(self, case_id: int, username: str) -> int:
        with self._lock:
            conn = next(self._ids)
            self._viewers.setdefault(case_id, {})[conn] = username
            return conn

    def leave(self, case_id: int, conn: int) -> None:
        with self._lock:
            viewers = self._viewers.get(case_id)
            if viewers is None:
                return
            viewers.pop(conn, None)
            if not viewers:
                del self._viewers[case_id]

    def viewers(self, case_id: int) -> list[str]:
        """Distinct usernames, in the order they opened the case (one person, two tabs: once)."""
        with self._lock:
            names = list(self._viewers.get(case_id, {}).values())
        return list(dict.fromkeys(names))

    def snapshot(self) -> dict[int, list[str]]:
        with self._lock:
            cases = list(self._viewers)
        return {case_id: self.viewers(case_id) for case_id in cases}
