"""The spool drainer: a background loop (app/kit/loops.py) moving spooled texts into the inbox
once the database is back.

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
import time
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError

from app.inbox.spool import Spool
from app.inbox.spool_file import claim
from app.inbox.writer import InboxInsert
from app.kit.logs import log_fields, mask_phone
from app.kit.loops import Loop

log = logging.getLogger("textline.spool")

BATCH = 256
MAX_BACKOFF = 1.0
ORPHAN_LOOK = 60.0


class Source(Protocol):
    def oldest(self, limit: int) -> list[tuple[int, dict[str, Any]]]: ...
    def remove(self, seqs: list[int]) -> None: ...
    def keep_aside(self, seq: int, reason: str) -> None: ...


class SpoolDrainer(Loop):
    def __init__(self, spool: Spool, engine: Engine, *, retention_days: int = 365,
                 on_commit: Callable[[int], None] | None = None, batch: int = BATCH) -> None:
        # Polled every MAX_BACKOFF and retried as often while the database is away, so that the
        # texts move within about a second of its return; a look at an empty local file is cheap.
        super().__init__("spool-drainer", poll=MAX_BACKOFF, max_backoff=MAX_BACKOFF)
        self.spool, self.engine, self.batch = spool, engine, batch
        self.retention_days = retention_days
        self.on_commit = on_commit
        self.insert = InboxInsert(engine.dialect)
        self.moved = 0
        self._next_orphans = 0.0
        self._failed_since = 0
        spool.on_spool = self.notify

    def step(self) -> bool:
        self.drain(self.spool)
        self.spool.settle()
        if time.monotonic() >= self._next_orphans:
            self._next_orphans = time.monotonic() + ORPHAN_LOOK
            self.adopt_orphans()
            self.spool.prune_kept_aside(time.time() - self.retention_days * 86400)
        if self._failed_since:
            log.info("spool drainer reached the database again",
                     extra=log_fields(failures=self._failed_since))
            self._failed_since = 0
        return False

    def failed(self, exc: BaseException) -> None:
        # The database is away (or the pool's connections died with it): the loop tries again
        # within MAX_BACKOFF; say so once, then every fiftieth try.
        self._failed_since = self.failures
        if self.failures == 1 or self.failures % 50 == 0:
            log.warning("spool drain waiting for the database", extra=log_fields(
                failures=self.failures, error=str(exc).splitlines()[0][:200]))

    def drain(self, source: Source) -> int:
        """Move every text in `source` into the inbox, in arrival order; the count moved.
        Raises whatever the database raises when it is away."""
        moved = 0
        while not self.stopping.is_set():
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
