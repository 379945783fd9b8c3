"""The landing: where the webhook's texts go on SQLite while reading holds the write lock.

SQLite has one write lock per database file, and a reading batch holds it for tens of
milliseconds. A webhook must not wait for that, so the inbox writer (app/inbox/writer.py)
tries the database's write lock without waiting; when it is held, or while texts already wait
here, it commits its texts to this file instead, which has a write lock of its own. The reader
(app/inbox/reader.py) moves them into the inbox at the start of its next batch, in the batch's
own transaction, and removes them from here only once that has committed.

What that keeps:
- a 200 still means the text is on disk: this file is SQLite with `synchronous = FULL`;
- a crash loses nothing: a text leaves here only after the inbox (or its case) has it;
- each text is read once: a crash between the batch's commit and the removal here moves the
  text again, and a text whose MessageSid is already stored is not put back in the inbox;
- a texter's texts keep their order: the writer writes straight to the inbox only while this
  file is empty, and it looks while it holds the database's write lock, so everything landed
  is moved before anything written after it.

The texts are personal data: the file is 0600 and deleted rows are overwritten.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from app.inbox.spool_file import as_row, as_values

SCHEMA = """
CREATE TABLE IF NOT EXISTS landed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sid TEXT NOT NULL UNIQUE,
    phone TEXT NOT NULL, to_number TEXT NOT NULL, body TEXT NOT NULL, media TEXT,
    received_at TEXT NOT NULL
);
"""
# Texts moved per batch: the move is one statement, and a burst's backlog goes over a few.
MOVE_AT_MOST = 2048


def landing_path(database: str) -> Path:
    return Path(f"{database}-landing")


class Landing:
    """The landing file. The writer's thread puts, the readers take and remove: each side has
    a connection of its own, so a reader never holds up a put for longer than a removal's
    commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # before SQLite creates it 0644
        os.close(fd)
        self._put_lock, self._take_lock = threading.Lock(), threading.Lock()
        # Opened on first use and again after close(): a stopped writer holds no file open.
        self._put: sqlite3.Connection | None = None
        self._take: sqlite3.Connection | None = None
        self._connect().close()  # the table, made once

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA secure_delete = ON")
        db.executescript(SCHEMA)
        return db

    @property
    def _put_db(self) -> sqlite3.Connection:
        if self._put is None:
            self._put = self._connect()
        return self._put

    @property
    def _take_db(self) -> sqlite3.Connection:
        if self._take is None:
            self._take = self._connect()
        return self._take

    def put(self, rows: list[dict[str, Any]]) -> None:
        """Keep the texts durably, in one commit (a MessageSid already here is kept once)."""
        values = [as_values(r) for r in rows]
        with self._put_lock:
            db = self._put_db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT OR IGNORE INTO landed (sid, phone, to_number, body, media, "
                               "received_at) VALUES (?, ?, ?, ?, ?, ?)", values)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def empty(self) -> bool:
        with self._put_lock:
            return self._put_db.execute("SELECT 1 FROM landed LIMIT 1").fetchone() is None

    def oldest(self, limit: int = MOVE_AT_MOST) -> list[tuple[int, dict[str, Any]]]:
        """The texts landed, in arrival order, as inbox rows, with their seq."""
        with self._take_lock:
            rows = self._take_db.execute(
                "SELECT seq, sid, phone, to_number, body, media, received_at FROM landed "
                "ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [(seq, as_row(values)) for seq, *values in rows]

    def remove(self, seqs: list[int]) -> None:
        """Once the inbox has them (committed): gone from here."""
        if not seqs:
            return
        with self._take_lock:
            db = self._take_db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("DELETE FROM landed WHERE seq = ?", [(s,) for s in seqs])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def depth(self) -> int:
        with self._take_lock:
            return int(self._take_db.execute("SELECT count(*) FROM landed").fetchone()[0])

    def close(self) -> None:
        """Release the file (texts in it stay on the disk); it is opened again if used."""
        with self._put_lock, self._take_lock:
            for db in (self._put, self._take):
                if db is not None:
                    db.close()
            self._put = self._take = None
