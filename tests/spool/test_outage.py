"""A 5-second database outage under load refuses no text, loses none and doubles none; the
spooled conversations are answered within 10 s of the database's return (docs/outage.md).

Each test runs a real `textline serve` on a private PostgreSQL cluster (tests/spool/conftest.py)
that it stops, or kills, and starts again.
"""

from __future__ import annotations

import signal
import stat
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from app.sms.signature import sign
from bench.harness import free_port, stop
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.serverproc import operator_token, server_env, wait_until
from tests.sms.fake_twilio import fake_twilio  # noqa: F401
from tests.spool.outage import PATH, Figures, outage, serving
from tests.spool.pgcluster import Cluster

ANSWER_WITHIN = 10.0


def assert_nothing_lost(figures: Figures) -> None:
    print(figures.line())  # the figures, for whoever runs this with -s
    assert figures.during_outage >= 60, figures.line()  # the load went on through the outage
    assert figures.refused == 0, figures.line()
    assert figures.lost == 0, figures.line()
    assert figures.duplicated == 0, figures.line()
    assert len(figures.answer_seconds) >= 12, figures.line()
    assert max(figures.answer_seconds.values()) <= ANSWER_WITHIN, figures.line()


def spool_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("spool-*")) if directory.exists() else []


def loud_lines(log: Path) -> tuple[int, int]:
    content = log.read_text(errors="replace")
    return content.count("SPOOLING STARTED"), content.count("SPOOLING ENDED")


def test_outage_on_one_worker_loses_nothing(cluster: Cluster, pg_url: str, fake_twilio,  # noqa: F811
                                            tmp_path: Path):
    port = free_port()
    spool = tmp_path / "spool"
    env = server_env(pg_url, port, fake_twilio, TEXTLINE_SPOOL_DIR=str(spool))
    token = operator_token(pg_url)
    seen: dict[str, object] = {}

    def during() -> None:
        """What an operator, a balancer and Prometheus see while the database is away."""
        with httpx.Client(timeout=10) as client:
            base = f"http://127.0.0.1:{port}"
            ready = client.get(f"{base}/readyz")
            seen["readyz"] = (ready.status_code, ready.json())
            seen["metrics"] = client.get(f"{base}/metrics").text
            api = client.get(f"{base}/api/cases", headers={"Authorization": f"Bearer {token}"})
            seen["api"] = (api.status_code, api.json())
            page = client.get(f"{base}/api/cases", headers={"Authorization": f"Bearer {token}",
                                                           "Accept": "text/html"})
            seen["page"] = (page.status_code, page.text)
        seen["files"] = spool_files(spool)
        seen["modes"] = {p.name: stat.S_IMODE(p.stat().st_mode) for p in spool_files(spool)}
        seen["dir_mode"] = stat.S_IMODE(spool.stat().st_mode) if spool.exists() else None

    log = tmp_path / "server.log"
    with serving(port, env, log):
        figures = outage(port, fake_twilio, pg_url, down=cluster.stop, up=cluster.start,
                         during=during)
        wait_until(lambda: not spool_files(spool), 10, "the drained spool file to be removed")
    assert_nothing_lost(figures)

    status, body = seen["readyz"]  # type: ignore[misc]
    assert status == 503 and body["detail"] == "database unreachable" and body["spooled"] > 0
    depth = [ln for ln in str(seen["metrics"]).splitlines()
             if ln.startswith("textline_spool_depth ")]
    assert depth and float(depth[0].split()[1]) > 0
    assert seen["api"] == (503, {"detail": "database unavailable: try again in a moment"})
    assert seen["page"][0] == 503 and "Database unavailable" in seen["page"][1]  # type: ignore[index]
    assert seen["files"] and seen["dir_mode"] == 0o700
    assert set(seen["modes"].values()) == {0o600}, seen["modes"]  # type: ignore[union-attr]
    started, ended = loud_lines(log)  # one line each way per spell of spooling
    assert started == ended >= 1


def test_outage_on_two_workers_loses_nothing(cluster: Cluster, pg_url: str, fake_twilio,  # noqa: F811
                                             tmp_path: Path):
    port = free_port()
    spool = tmp_path / "spool"
    env = server_env(pg_url, port, fake_twilio, TEXTLINE_SPOOL_DIR=str(spool))
    files: list[Path] = []
    log = tmp_path / "server.log"
    with serving(port, env, log, workers=2):
        figures = outage(port, fake_twilio, pg_url, down=cluster.stop, up=cluster.start,
                         during=lambda: files.extend(spool_files(spool)), run_id="b")
        wait_until(lambda: not spool_files(spool), 10, "the drained spool files to be removed")
    assert_nothing_lost(figures)
    # Each worker spooled into its own file: two, each with its lock.
    assert {p.name for p in files} >= {"spool-0.db", "spool-1.db"}, files
    started, ended = loud_lines(log)
    assert started == ended >= 2  # each worker its own


def test_database_server_killed_loses_nothing(cluster: Cluster, pg_url: str, fake_twilio,  # noqa: F811
                                              tmp_path: Path):
    """SIGKILL of every PostgreSQL process (a crash), then crash recovery at start."""
    port = free_port()
    env = server_env(pg_url, port, fake_twilio, TEXTLINE_SPOOL_DIR=str(tmp_path / "spool"))
    with serving(port, env, tmp_path / "server.log"):
        figures = outage(port, fake_twilio, pg_url, down=cluster.kill, up=cluster.start,
                         run_id="c")
    assert_nothing_lost(figures)


def test_database_that_hangs_is_waited_for_half_a_second_at_most(cluster: Cluster, pg_url: str,
                                                               fake_twilio, tmp_path: Path):  # noqa: F811
    """Every PostgreSQL process stopped (SIGSTOP): connections hang instead of failing. Each
    webhook answers within TEXTLINE_SPOOL_AFTER_MS and the disk write, never the database."""
    port = free_port()
    env = server_env(pg_url, port, fake_twilio, TEXTLINE_SPOOL_DIR=str(tmp_path / "spool"))
    with serving(port, env, tmp_path / "server.log"):
        figures = outage(port, fake_twilio, pg_url, down=cluster.pause, up=cluster.resume,
                         run_id="h")
    assert_nothing_lost(figures)
    assert figures.slowest < 2.0, figures.line()


def post(client: httpx.Client, port: int, sid: str, phone: str, body: str) -> int:
    url = f"http://127.0.0.1:{port}{PATH}"
    form = {"MessageSid": sid, "AccountSid": TEST_ACCOUNT_SID, "From": phone, "To": "61016",
            "NumMedia": "0", "Body": body}
    return client.post(url, data=form,
                       headers={"X-Twilio-Signature": sign(TEST_AUTH_TOKEN, url, form)}).status_code


def test_textline_killed_with_texts_spooled_drains_them_first_on_restart(
        cluster: Cluster, pg_url: str, fake_twilio, tmp_path: Path):  # noqa: F811
    port = free_port()
    spool = tmp_path / "spool"
    env = server_env(pg_url, port, fake_twilio, TEXTLINE_SPOOL_DIR=str(spool))
    log = tmp_path / "server.log"
    sids = [f"SMkill{i:04d}".ljust(34, "k") for i in range(30)]
    phones = [f"+44770070{i % 5:04d}" for i in range(30)]
    with serving(port, env, log) as server:
        cluster.stop()
        with httpx.Client(timeout=10) as client:
            statuses = [post(client, port, sid, who, f"someone is following me text {i}")
                        for i, (sid, who) in enumerate(zip(sids, phones, strict=True))]
            # Twilio retrying one of them: kept once.
            statuses.append(post(client, port, sids[0], phones[0], "someone is following me"))
        assert statuses == [200] * 31
        stop(server, signal.SIGKILL)
    assert (spool / "spool-0.db").exists()
    cluster.start()
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM inbox")).scalar() == 0
    with serving(port, env, log):
        def stored() -> dict[str, int]:
            with engine.connect() as conn:
                return dict(conn.execute(text(
                    "SELECT provider_sid, count(*) FROM messages WHERE direction = 'inbound' "
                    "GROUP BY provider_sid")).all())

        wait_until(lambda: set(sids) <= stored().keys(), 20, "the spooled texts to be read")
        assert set(stored().values()) == {1}
        wait_until(lambda: not spool_files(spool), 10, "the spool file to be removed")
        # Each texter's texts were read in the order they came.
        with engine.connect() as conn:
            order = conn.execute(text(
                "SELECT provider_sid FROM messages WHERE direction = 'inbound' ORDER BY id")
            ).scalars().all()
        for who in set(phones):
            mine = [s for s, p in zip(sids, phones, strict=True) if p == who]
            assert [s for s in order if s in mine] == mine
    engine.dispose()
    assert "texts spooled by an earlier run are drained first" in log.read_text()
