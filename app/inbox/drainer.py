"""The spool drainer: a daemon thread moving spooled texts into the inbox once the database is
back (start(), notify(), stop()).

It takes the spool's texts in arrival order, a batch at a time, inserts them into the inbox with
the webhook writer's statement (ON CONFLICT (provider_sid) DO NOTHING: a text that reached the
inbox anyway, or a Twilio retry of one, is stored once), commits, and only then removes them from
the spool: a crash in between inserts them again, which the conflict clause makes harmless, and
the processor stores a MessageSid once however often it is read. After each commit it wakes the
processor, so the replies follow at once.

While the database is away each try fails at connect; it tries again with a short backoff (at
most MAX_BACKOFF), so the texts move within about a second of the database's return. A text the
database refuses for its content (DataError, IntegrityError) is kept aside in the spool file
with the reason, and logged, never dropped. Every so often it also takes over spool files of
this database left by a process that stopped and no live process holds (app/inbox/spool_file.py),
drains them and removes them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError

from app.inbox.spool import Spool
from app.inbox.spool_file import claim
from app.logs import log_fields, mask_phone
from app.sms.inbox import InboxInsert

log = logging.getLogger("textline.spool")

BATCH = 256
MAX_BACKOFF = 1.0
IDLE_LOOK = 5.0  # with nothing spooled: how often to look for other processes' leftovers
ORPHAN_LOOK = 60.0


class Source(Protocol):
    def oldest(self, limit: int) -> list[tuple[int, dict[str, Any]]]: ...
    def remove(self, seqs: list[int]) -> None: ...
    def keep_aside(self, seq: int, reason: str) -> None: ...


class SpoolDrainer:
    def __init__(self, spool: Spool, engine: Engine, *, retention_days: int = 365,
                 on_commit: Callable[[int], None] | None = None, batch: int = BATCH) -> None:
        self.spool, self.engine, self.batch = spool, engine, batch
        self.retention_days = retention_days
        self.on_commit = on_commit
        self.insert = InboxInsert(engine.dialect)
        self.moved = 0
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        spool.on_spool = self.notify

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._wake.set()  # texts left by an earlier run first
        self._thread = threading.Thread(target=self._run, name="spool-drainer", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        failures, next_orphans = 0, 0.0
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.drain(self.spool)
                self.spool.settle()
                if time.monotonic() >= next_orphans:
                    next_orphans = time.monotonic() + ORPHAN_LOOK
                    self.adopt_orphans()
                    self.spool.prune_kept_aside(time.time() - self.retention_days * 86400)
                if failures:
                    log.info("spool drainer reached the database again",
                             extra=log_fields(failures=failures))
                failures = 0
            except Exception as exc:
                # The database is away (or the pool's connections died with it): try again
                # soon, without waking on every new spooled text.
                failures += 1
                if failures == 1 or failures % 50 == 0:
                    log.warning("spool drain waiting for the database", extra=log_fields(
                        failures=failures, error=str(exc).splitlines()[0][:200]))
                self._stop.wait(min(MAX_BACKOFF, 0.05 * 2 ** failures))
                continue
            self._wake.wait(IDLE_LOOK)

    def drain(self, source: Source) -> int:
        """Move every text in `source` into the inbox, in arrival order; the count moved.
        Raises whatever the database raises when it is away."""
        moved = 0
        while not self._stop.is_set():
            rows = source.oldest(self.batch)
            if not rows:
                break
            refused = self._insert(rows)
            for seq, reason in refused:
                source.keep_aside(seq, reason)
            kept = {seq for seq, _ in refused}
            source.remove([seq for seq, _ in rows if seq not in kept])
            done = len(rows) - len(refused)
            moved += done
            self.moved += done
            if done and self.on_commit is not None:
                self.on_commit(done)
        return moved

    def _insert(self, rows: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, str]]:
        """Commit `rows` to the inbox; the (seq, reason) of any the database refused for
        their content. One transaction for the batch; one each when the batch is refused."""
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(self.insert.sql,
                                     [self.insert.values(row) for _, row in rows])
            return []
        except (DataError, IntegrityError) as exc:
            if len(rows) > 1:
                return [r for one in rows for r in self._insert([one])]
            seq, row = rows[0]
            reason = str(exc.orig).splitlines()[0][:300]
            log.error("SPOOLED TEXT KEPT ASIDE: the database refused it; it stays in the spool "
                      "file for a person (docs/outage.md)", extra=log_fields(
                          sid=row["provider_sid"], phone=mask_phone(row["phone"]), reason=reason))
            return [(seq, reason)]

    def adopt_orphans(self) -> int:
        """Drain and remove spool files of this database that no live process holds."""
        moved = 0
        own = self.spool.path
        skip = {own} if own else set()
        while (orphan := claim(self.spool.directory, self.spool.identity, create=False,
                               skip=skip)) is not None:
            skip.add(orphan.path)
            try:
                waiting = orphan.depth()[0]
                if waiting:
                    log.warning("draining a spool left by a stopped process",
                                extra=log_fields(path=str(orphan.path), texts=waiting))
                moved += self.drain(orphan)
            finally:
                # Removed once empty; a file with texts kept aside stays for a person.
                orphan.close(remove_if_empty=True)
        return moved


def start_drainer(rt: Any) -> SpoolDrainer | None:
    """Take over texts an earlier run left spooled, then drain in the background; None where
    there is no spool (SQLite)."""
    spool: Spool | None = getattr(rt, "spool", None)
    if spool is None:
        return None
    left = spool.recover()
    if left:
        log.warning("texts spooled by an earlier run are drained first",
                    extra=log_fields(texts=left))

    def committed(count: int) -> None:
        wake = getattr(rt.inbox, "on_commit", None)  # the processor, as for the webhook's commits
        if wake is not None:
            wake(count)

    drainer = SpoolDrainer(spool, rt.engine, retention_days=rt.settings.retention_days,
                           on_commit=committed)
    drainer.start()
    return drainer
