"""One spool file: texts acknowledged to Twilio while the database was away, on local disk.

An embedded SQLite file (stdlib sqlite3) with `synchronous = FULL` in WAL mode: a row is on the
disk when its INSERT returns, so the webhook may answer 200. MessageSid is unique, so a Twilio
retry of a spooled text is kept once. Rows are numbered in arrival order (`seq`), which the
drainer keeps. A text the database refuses goes to `kept_aside` with the reason.

Each file belongs to one process at a time: it holds an exclusive flock on the file's `.lock`
beside it for as long as it uses it. A process that dies (even by SIGKILL) drops the lock with
it, so the next start, or another process of the same service, takes the file over and drains it;
no two processes ever drain one file. The file records which database its texts are for, and a
process of another database never takes it.

The texts are personal data: the directory is 0700, every file 0600 (SQLite gives its WAL and
shared-memory files the database file's mode), deleted rows are overwritten (`secure_delete`),
and the files are removed once drained.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from app.kit.logs import log_fields

log = logging.getLogger("textline.spool")

NAME = re.compile(r"^spool-(\d+)\.db$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spooled (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sid TEXT NOT NULL UNIQUE,
    phone TEXT NOT NULL, to_number TEXT NOT NULL, body TEXT NOT NULL, media TEXT,
    received_at TEXT NOT NULL,
    spooled_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS kept_aside (
    sid TEXT PRIMARY KEY,
    phone TEXT NOT NULL, to_number TEXT NOT NULL, body TEXT NOT NULL, media TEXT,
    received_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    kept_at REAL NOT NULL
);
"""
COLUMNS = "sid, phone, to_number, body, media, received_at"


def as_values(row: dict[str, Any]) -> tuple[Any, ...]:
    """An inbox row as the side files store it, in COLUMNS order."""
    return (row["provider_sid"], row["phone"], row["to_number"], row["body"],
            None if row["media"] is None else json.dumps(row["media"]), row["received_at"].isoformat())


def as_row(values: tuple[Any, ...]) -> dict[str, Any]:
    """What as_values stored (COLUMNS order), as an inbox row due now."""
    sid, phone, to, body, media, at = values
    received = datetime.fromisoformat(at)
    return {"provider_sid": sid, "phone": phone, "to_number": to, "body": body,
            "media": None if media is None else json.loads(media),
            "received_at": received, "attempts": 0, "next_attempt_at": received}


def private_dir(directory: Path) -> None:
    """The spool directory, made (or narrowed) to the service's user alone."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_mode & 0o077:
        directory.chmod(0o700)


class SpoolFile:
    """A claimed spool file. Not thread-safe: its owner (app/inbox/spool.py) serialises calls."""

    def __init__(self, path: Path, lock_fd: int, identity: str) -> None:
        self.path, self._lock_fd = path, lock_fd
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # before SQLite creates it 0644
        os.close(fd)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("PRAGMA secure_delete = ON")
        self.db.executescript(SCHEMA)
        found = self.db.execute("SELECT value FROM meta WHERE key = 'database'").fetchone()
        if found is None:
            self.db.execute("INSERT INTO meta VALUES ('database', ?)", (identity,))
        self.identity = identity if found is None else found[0]

    def put(self, row: dict[str, Any]) -> bool:
        """Keep the text durably; False if its MessageSid is already here."""
        cur = self.db.execute(
            f"INSERT OR IGNORE INTO spooled ({COLUMNS}, spooled_at) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (*as_values(row), time.time()))
        return cur.rowcount == 1

    def oldest(self, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """The first `limit` texts in arrival order, as inbox rows, with their seq."""
        rows = self.db.execute(f"SELECT seq, {COLUMNS} FROM spooled ORDER BY seq LIMIT ?",  # noqa: S608
                               (limit,)).fetchall()
        return [(seq, as_row(values)) for seq, *values in rows]

    def remove(self, seqs: list[int]) -> None:
        with self._transaction():
            self.db.executemany("DELETE FROM spooled WHERE seq = ?", [(s,) for s in seqs])

    def keep_aside(self, seq: int, reason: str) -> None:
        with self._transaction():
            self.db.execute(
                f"INSERT OR REPLACE INTO kept_aside ({COLUMNS}, reason, kept_at) "  # noqa: S608
                f"SELECT {COLUMNS}, ?, ? FROM spooled WHERE seq = ?", (reason[:500], time.time(), seq))
            self.db.execute("DELETE FROM spooled WHERE seq = ?", (seq,))

    def depth(self) -> tuple[int, float | None, int]:
        """Texts waiting, the spool time of the oldest, texts kept aside."""
        count, first = self.db.execute("SELECT count(*), min(spooled_at) FROM spooled").fetchone()
        kept = self.db.execute("SELECT count(*) FROM kept_aside").fetchone()[0]
        return int(count), first, int(kept)

    def prune_kept_aside(self, before: float) -> int:
        """Retention: forget texts kept aside before `before` (a time.time())."""
        return self.db.execute("DELETE FROM kept_aside WHERE kept_at < ?", (before,)).rowcount

    def close(self, *, remove_if_empty: bool) -> bool:
        """Release the file; remove it from the disk if nothing is left in it. True if removed."""
        waiting, _, kept = self.depth()
        empty = waiting == 0 and kept == 0
        if empty and remove_if_empty:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()
        if empty and remove_if_empty:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            # Unlinked while still locked: whoever opens the old path meanwhile sees the inode
            # change and looks again (claim).
            self.path.with_suffix(".lock").unlink(missing_ok=True)
        os.close(self._lock_fd)
        return empty and remove_if_empty

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _lock(path: Path) -> int | None:
    """An exclusive lock on `path` (created 0600), or None if another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    try:
        same = os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        same = False
    if not same:  # removed by its last holder between our open and our lock
        os.close(fd)
        return None
    return fd


def existing(directory: Path) -> Iterator[Path]:
    """The spool files in `directory`, in number order."""
    if not directory.is_dir():
        return iter(())
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := NAME.match(p.name))]
    return iter(p for _, p in sorted(found))


def claim(directory: Path, identity: str, *, create: bool,
          skip: set[Path] = frozenset()) -> SpoolFile | None:  # type: ignore[assignment]
    """A spool file of this database that no live process holds: an existing one first (texts
    left by a process that stopped), else, with `create`, a new one."""
    candidates = [p for p in existing(directory) if p not in skip]
    if create:
        private_dir(directory)
        used = {int(NAME.match(p.name).group(1)) for p in existing(directory)}  # type: ignore[union-attr]
        candidates += [directory / f"spool-{n}.db" for n in range(len(used) + 8) if n not in used]
    for path in candidates:
        fd = _lock(path.with_suffix(".lock"))
        if fd is None:
            continue
        if not path.exists() and not create:
            os.close(fd)
            continue
        try:
            spool = SpoolFile(path, fd, identity)
        except sqlite3.Error:
            log.exception("spool file unreadable; left in place", extra=log_fields(path=str(path)))
            os.close(fd)
            continue
        if spool.identity != identity:
            log.error("spool file is for another database; left in place",
                      extra=log_fields(path=str(path)))
            spool.close(remove_if_empty=False)
            continue
        return spool
    return None
