"""`textline serve --workers 2` on PostgreSQL: one scrape sums both workers' figures.

The workers share prometheus-client's multiprocess directory (app/kit/metrics_dir.py); each
keeps its counts in files named by its pid, and whichever worker answers a scrape adds up all
the files. The test reads the files per pid to see that both workers took webhooks, then
scrapes several times (each scrape may reach either worker) and finds the sum every time.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.kit.metrics_dir import multiprocess_metrics
from app.sms.signature import sign
from bench.harness import free_port, serving, textline_argv
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.serverproc import server_env, wait_until
from tests.sms.fake_twilio import fake_twilio  # noqa: F401
from tests.test_metrics import sample

TEXTS_PER_ROUND, MAX_ROUNDS = 16, 10


def _webhooks_by_pid(directory: Path) -> dict[str, float]:
    """textline_webhook_seconds_count per worker pid, read from each worker's own file."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    counts: dict[str, float] = {}
    for path in directory.glob("histogram_*.db"):
        pid = path.stem.removeprefix("histogram_")
        single = directory / f"one-{pid}"
        single.mkdir(exist_ok=True)
        (single / path.name).write_bytes(path.read_bytes())
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(single))
        body = generate_latest(registry).decode()
        counts[pid] = sample(body, "textline_webhook_seconds_count", status="2xx")
    return counts


def _text(client: httpx.Client, port: int, n: int) -> None:
    url = f"http://127.0.0.1:{port}/webhooks/twilio/sms"
    form = {"MessageSid": f"SM{n:032d}", "AccountSid": TEST_ACCOUNT_SID,
            "From": f"+4477009{n:05d}", "To": "61016", "Body": "someone is following me",
            "NumMedia": "0"}
    # A fresh connection each: the two workers share one listening socket and take turns
    # only between connections.
    resp = client.post(url, data=form, headers={"X-Twilio-Signature": sign(TEST_AUTH_TOKEN, url,
                                                                            form),
                                                "Connection": "close"})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_scrape_of_two_workers_counts_both_workers_webhooks(database_url, fake_twilio,  # noqa: F811
                                                               tmp_path):
    port = free_port()
    figures = tmp_path / "prometheus"
    env = server_env(database_url, port, fake_twilio, PROMETHEUS_MULTIPROC_DIR=str(figures))
    figures.mkdir()
    (figures / "counter_1.db").write_bytes(b"stale")  # left by an earlier run: emptied at start
    sent = 0
    with serving(textline_argv(port, 2), env, port, log=tmp_path / "server.log"), \
            httpx.Client(timeout=10) as client, ThreadPoolExecutor(4) as pool:
        assert not (figures / "counter_1.db").exists()
        for _ in range(MAX_ROUNDS):
            list(pool.map(lambda n: _text(client, port, n), range(sent, sent + TEXTS_PER_ROUND)))
            sent += TEXTS_PER_ROUND
            by_pid = _webhooks_by_pid(figures)
            if len([c for c in by_pid.values() if c > 0]) == 2:
                break
        assert len(by_pid) == 2 and all(by_pid.values()), \
            f"both workers should have taken webhooks: {by_pid}"
        # A request's time is observed as its response ends, a moment after the client has the
        # 200: the last of a round may not be counted yet when the files are first read.
        deadline = time.monotonic() + 5
        while sum(by_pid.values()) != sent and time.monotonic() < deadline:
            time.sleep(0.05)
            by_pid = _webhooks_by_pid(figures)
        assert sum(by_pid.values()) == sent
        print(f"\nwebhooks by worker: {sorted(by_pid.values())} of {sent}")

        def counted() -> bool:  # texts are read in the background: wait for the last of them
            body = client.get(f"http://127.0.0.1:{port}/metrics").text
            return sample(body, "textline_processor_lag_seconds_count") == sent

        wait_until(counted, 20, "both workers' processors to read every text")
        for _ in range(6):  # each scrape, whichever worker answers it, has the whole sum
            body = client.get(f"http://127.0.0.1:{port}/metrics",
                              headers={"Connection": "close"}).text
            assert sample(body, "textline_webhook_seconds_count", status="2xx") == sent
            assert sample(body, "textline_texts_received_total") == sent
            assert sample(body, "textline_inbox_depth") == 0
            assert sample(body, "process_resident_memory_bytes") > 0
            # Both workers checked the audit chain at start: one gauge, the latest check's.
            assert sample(body, "textline_audit_chain_broken") == 0
            assert sample(body, "textline_audit_chain_checked_timestamp_seconds") > 0


def test_serve_makes_its_own_directory_and_removes_it(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with multiprocess_metrics(1) as none:
        assert none is None and "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    with multiprocess_metrics(2) as made:
        assert made is not None and made.is_dir()
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(made)
        (made / "counter_123.db").write_bytes(b"x")
    assert not made.exists() and "PROMETHEUS_MULTIPROC_DIR" not in os.environ


def test_the_operators_directory_is_kept_and_emptied_of_an_earlier_run(monkeypatch, tmp_path):
    given = tmp_path / "figures"
    given.mkdir()
    (given / "counter_99.db").write_bytes(b"an earlier run's")
    (given / "notes.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(given))
    with multiprocess_metrics(1) as used:
        assert used == given and not (given / "counter_99.db").exists()
    assert given.is_dir() and (given / "notes.txt").exists()
