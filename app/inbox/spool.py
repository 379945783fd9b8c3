"""The webhook's way round a database that is away: keep the text on local disk, answer 200.

Where the database is remote (PostgreSQL), a webhook whose text the inbox cannot commit within
TEXTLINE_SPOOL_AFTER_MS (or that the inbox refuses outright, the database being down) writes it
to this process's spool file instead (app/inbox/spool_file.py) and answers 200 once it is on the
disk. From then on every new text goes to the spool too, behind the earlier ones, so that a
texter's texts reach the inbox in the order they came; the drainer (app/inbox/drainer.py) moves
them into the inbox as soon as the database takes them again, and once the spool is empty texts
go straight to the inbox as before. On SQLite the commit is local and nothing changes.

One loud log line says when spooling starts and one when it ends.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from app.inbox.inbound import Inbound
from app.inbox.spool_file import SpoolFile, claim
from app.inbox.writer import InboxUnavailable, inbox_row
from app.kit.logs import log_fields

log = logging.getLogger("textline.spool")


def database_identity(url: str) -> str:
    """Which database the spooled texts are for: the URL without its password."""
    return make_url(url).render_as_string(hide_password=True)


class Spool:
    """This process's spool. The webhook writes from worker threads, the drainer reads from its
    own: one lock serialises both, each call one short SQLite transaction."""

    def __init__(self, directory: Path, database_url: str, *, after_seconds: float) -> None:
        self.directory = directory
        self.identity = database_identity(database_url)
        self.after = after_seconds
        self.spooling = False
        self.on_spool: Callable[[], None] = lambda: None  # wakes the drainer
        self._lock = threading.Lock()
        self._file: SpoolFile | None = None
        self._since = 0.0
        self._count = 0

    async def accept(self, inbox: Any, msg: Inbound, received_at: datetime) -> None:
        """Return once the text is committed to the inbox or kept in the spool; raise
        InboxUnavailable if neither could be done."""
        reason = "texts left by an earlier run are still spooled"
        if not self.spooling:
            try:
                async with asyncio.timeout(self.after):
                    await inbox.accept(msg, received_at)
                return
            except InboxUnavailable as exc:
                reason = str(exc)
            except TimeoutError:
                # The text stays queued in the writer and may commit yet; the drainer's insert
                # then finds it there (ON CONFLICT DO NOTHING), or the processor finds it read.
                reason = f"no inbox commit within {int(self.after * 1000)} ms"
        await asyncio.to_thread(self.put, inbox_row(msg, received_at), reason)

    def put(self, row: dict[str, Any], reason: str) -> None:
        try:
            with self._lock:
                if self._file is None:
                    self._file = claim(self.directory, self.identity, create=True)
                    if self._file is None:
                        raise InboxUnavailable(f"no spool file could be claimed in {self.directory}")
                self._file.put(row)
                if not self.spooling:
                    self._started(reason)
                self._count += 1
        except InboxUnavailable:
            raise
        except Exception as exc:  # a full disk, say: the webhook answers 503, Twilio may retry
            log.exception("spool write failed")
            raise InboxUnavailable(f"spool write failed: {exc}") from exc
        self.on_spool()

    def _started(self, reason: str) -> None:
        self.spooling, self._since = True, time.monotonic()
        log.warning("SPOOLING STARTED: the database cannot take texts; each is kept on local "
                    "disk and answered 200 until the database is back",
                    extra=log_fields(reason=reason[:200], spool=str(self._file and self._file.path)))

    def recover(self) -> int:
        """At start: take over a spool file left by a process that stopped (a crash, SIGKILL),
        so that its texts are drained before any new text goes straight to the inbox."""
        with self._lock:
            found = claim(self.directory, self.identity, create=False)
            if found is None:
                return 0
            waiting, _, kept = found.depth()
            if waiting == 0 and kept == 0:
                found.close(remove_if_empty=True)
                return 0
            self._file = found
            if waiting:
                self._started(f"{waiting} texts left by an earlier run")
                self._count = waiting
            return waiting

    # What the drainer calls, from its thread.
    def oldest(self, limit: int) -> list[tuple[int, dict[str, Any]]]:
        with self._lock:
            return [] if self._file is None else self._file.oldest(limit)

    def remove(self, seqs: list[int]) -> None:
        with self._lock:
            if self._file is not None:
                self._file.remove(seqs)

    def keep_aside(self, seq: int, reason: str) -> None:
        with self._lock:
            if self._file is not None:
                self._file.keep_aside(seq, reason)

    def settle(self) -> None:
        """The drainer found the spool empty: texts go straight to the inbox again, and a file
        with nothing kept aside is removed from the disk."""
        with self._lock:
            if self._file is None:
                return
            waiting, _, kept = self._file.depth()
            if waiting:
                return
            if self.spooling:
                self.spooling = False
                log.warning("SPOOLING ENDED: every spooled text is in the inbox; texts go "
                            "straight to the database again", extra=log_fields(
                                texts=self._count,
                                seconds=round(time.monotonic() - self._since, 1)))
                self._count = 0
            if kept == 0:
                self._file.close(remove_if_empty=True)
                self._file = None

    def prune_kept_aside(self, before: float) -> int:
        with self._lock:
            return 0 if self._file is None else self._file.prune_kept_aside(before)

    @property
    def path(self) -> Path | None:
        return None if self._file is None else self._file.path

    def depth(self) -> tuple[int, float, int]:
        """Texts spooled and not yet in the inbox, the oldest's age in seconds, texts kept
        aside."""
        with self._lock:
            if self._file is None:
                return 0, 0.0, 0
            waiting, first, kept = self._file.depth()
        return waiting, 0.0 if first is None else max(0.0, time.time() - first), kept

    def close(self) -> None:
        """At shutdown: release the file, removing it if it is empty; texts still in it stay
        on the disk for the next start."""
        with self._lock:
            if self._file is not None:
                self._file.close(remove_if_empty=True)
                self._file = None
