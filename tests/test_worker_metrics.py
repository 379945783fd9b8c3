"""`textline worker`'s own /metrics (TEXTLINE_WORKER_METRICS_ADDRESS), guarded by the token."""

from __future__ import annotations

import httpx
import pytest

from app.kit.config import ConfigError, Settings, load_settings
from app.ops.worker_metrics import serve_worker_metrics
from bench.harness import free_port

TOKEN = "worker-metrics-token-0123456789"


def test_unset_serves_nothing():
    assert serve_worker_metrics(Settings(database_url="sqlite://")) is None


def test_the_worker_serves_its_counters_and_wants_the_token():
    port = free_port()
    settings = Settings(database_url="sqlite://", worker_metrics_address=f"127.0.0.1:{port}",
                        metrics_token=TOKEN)
    httpd = serve_worker_metrics(settings)
    assert httpd is not None
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer wrong-token"}).status_code == 401
        resp = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert resp.status_code == 200
        assert "textline_answer_seconds_bucket" in resp.text
        assert "textline_processor_lag_seconds_count" in resp.text
        assert "process_cpu_seconds_total" in resp.text
        assert httpx.get(f"http://127.0.0.1:{port}/other").status_code == 404
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("address", ["9108", "host:", "host:99999", "host:port"])
def test_a_bad_address_stops_the_start(address):
    with pytest.raises(ConfigError, match="TEXTLINE_WORKER_METRICS_ADDRESS"):
        load_settings(database_url="sqlite://", worker_metrics_address=address)
