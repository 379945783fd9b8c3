"""The spool and its drainer, without a server: files, dedup, order, refusals, leftovers."""

from __future__ import annotations

import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.inbox.drainer import SpoolDrainer
from app.inbox.inbound import Inbound
from app.inbox.spool import Spool
from app.inbox.spool_file import claim
from app.inbox.writer import inbox_row
from app.kit.config import Settings
from app.startup.bootstrap import build_runtime

URL = "postgresql+psycopg://textline:secret@db.example.org:5432/textline"
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def row(n: int, phone: str = "+447700900001", sid: str | None = None) -> dict:
    return inbox_row(Inbound(sid=sid or f"SM{n:032d}", phone=phone, to="61016",
                             body=f"text {n}", media=[]), T0 + timedelta(seconds=n))


def test_spooled_texts_are_private_on_disk_and_kept_once(tmp_path: Path):
    spool = Spool(tmp_path / "spool", URL, after_seconds=0.5)
    spool.put(row(1), "test")
    spool.put(row(2), "test")
    spool.put(row(1), "test")  # Twilio's retry of the first
    assert spool.spooling
    assert spool.depth()[0] == 2
    assert stat.S_IMODE((tmp_path / "spool").stat().st_mode) == 0o700
    files = sorted((tmp_path / "spool").iterdir())
    assert {p.name for p in files} >= {"spool-0.db", "spool-0.lock"}
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o600}
    # The password is not written to the disk with the texts.
    assert "secret" not in spool.identity and "db.example.org" in spool.identity
    spool.close()
    assert (tmp_path / "spool" / "spool-0.db").exists()  # texts still in it stay for next start


def test_each_process_has_its_own_file_and_another_database_is_left_alone(tmp_path: Path):
    first = Spool(tmp_path, URL, after_seconds=0.5)
    second = Spool(tmp_path, URL, after_seconds=0.5)
    other = Spool(tmp_path, URL.replace("/textline", "/elsewhere"), after_seconds=0.5)
    first.put(row(1), "test")
    second.put(row(2), "test")
    first_path, second_path = first.path, second.path
    assert first_path != second_path  # the first's lock keeps the second out
    first.close()  # its process stops with a text still spooled
    # A file of another database is never taken, not even when nobody holds it.
    other.put(row(3), "test")
    assert other.path not in (first_path, second_path)
    fresh = Spool(tmp_path, URL, after_seconds=0.5)
    assert fresh.recover() == 1 and fresh.path == first_path  # the stopped one's texts
    assert fresh.spooling  # so that new texts queue behind them


def test_drainer_keeps_order_stores_once_and_keeps_refused_texts_aside(pg_url: str,
                                                                     tmp_path: Path):
    engine = create_engine(pg_url)
    with engine.begin() as conn:  # one text reached the inbox before the database went
        conn.execute(text(
            "INSERT INTO inbox (provider_sid, phone, to_number, body, received_at, attempts, "
            "next_attempt_at) VALUES (:sid, '+447700900001', '61016', 'text 2', now(), 0, "
            "now())"), {"sid": f"SM{2:032d}"})
    spool = Spool(tmp_path, pg_url, after_seconds=0.5)
    for n in (1, 2, 3):
        spool.put(row(n), "test")
    spool.put(row(4, phone="+44" + "7" * 40), "test")  # longer than the column: refused
    spool.put(row(5), "test")
    woken: list[int] = []
    drainer = SpoolDrainer(spool, engine, on_commit=woken.append)
    assert drainer.drain(spool) == 4
    spool.settle()
    with engine.connect() as conn:
        sids = conn.execute(text("SELECT provider_sid FROM inbox ORDER BY id")).scalars().all()
    assert sids == [f"SM{n:032d}" for n in (2, 1, 3, 5)]
    assert sum(woken) == 4
    assert not spool.spooling
    waiting, _, kept = spool.depth()
    assert (waiting, kept) == (0, 1)
    assert spool.path is not None and spool.path.exists()  # kept aside: the file stays
    reason = spool._file.db.execute("SELECT sid, reason FROM kept_aside").fetchone()  # type: ignore[union-attr]
    assert reason[0] == f"SM{4:032d}" and "too long" in reason[1]
    # Retention forgets kept-aside texts past their time, not before.
    assert spool.prune_kept_aside(time.time() - 3600) == 0
    assert spool.prune_kept_aside(time.time() + 1) == 1
    spool.settle()
    assert spool.path is None and not list(tmp_path.glob("spool-0*"))  # removed once empty
    engine.dispose()


def test_drainer_takes_over_a_stopped_process_file_and_removes_it(pg_url: str,
                                                                 tmp_path: Path):
    left = claim(tmp_path, Spool(tmp_path, pg_url, after_seconds=0.5).identity, create=True)
    assert left is not None
    for n in (1, 2):
        left.put(row(n))
    left.close(remove_if_empty=True)  # its process died: the lock goes, the texts stay
    spool = Spool(tmp_path, pg_url, after_seconds=0.5)
    engine = create_engine(pg_url)
    drainer = SpoolDrainer(spool, engine)
    assert drainer.adopt_orphans() == 2
    assert not list(tmp_path.glob("spool-*"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM inbox")).scalar() == 2
    engine.dispose()


@pytest.mark.parametrize("url", ["sqlite:///{tmp}/t.db"])
def test_sqlite_has_no_spool(url: str, tmp_path: Path):
    """The embedded default commits locally: the webhook works as it always has."""
    rt = build_runtime(Settings(database_url=url.format(tmp=tmp_path),
                                secret_key="test-secret-key-0123456789abcdef"))
    assert rt.spool is None
    rt.engine.dispose()
