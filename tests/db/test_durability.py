"""A commit is on disk when it returns: a 200 tells Twilio never to send that text again."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.kit.db import make_engine

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def _settings(url: str, **kw: object) -> dict[str, object]:
    engine = make_engine(url, **kw)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                return {"synchronous": conn.execute(text("PRAGMA synchronous")).scalar_one(),
                        "journal_mode": conn.execute(text("PRAGMA journal_mode")).scalar_one()}
            return {name: conn.execute(text(f"SHOW {name}")).scalar_one()
                    for name in ("fsync", "synchronous_commit")}
    finally:
        engine.dispose()


def test_sqlite_commits_wait_for_the_disk(tmp_path):
    url = f"sqlite:///{tmp_path / 'durable.db'}"
    # WAL with NORMAL would keep a commit only until the next power cut; FULL syncs each one.
    assert _settings(url) == {"synchronous": FULL, "journal_mode": "wal"}
    assert _settings(url, read_only=True)["synchronous"] == FULL


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_commits_wait_for_the_disk(database_url):
    assert _settings(database_url) == {"fsync": "on", "synchronous_commit": "on"}
