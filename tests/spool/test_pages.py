"""While the database is away, an operator's page and API call say so (503), never a 500."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.kit.config import Settings
from app.main import create_app
from tests.spool.pgcluster import Cluster


def test_pages_and_api_answer_503_with_a_notice_while_the_database_is_away(
        cluster: Cluster, pg_url: str, tmp_path: Path):
    settings = Settings(database_url=pg_url, public_url="http://testserver", run_worker=False,
                        secret_key="test-secret-key-0123456789abcdef",
                        spool_dir=tmp_path / "spool")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        cluster.stop()
        try:
            client.cookies.set("textline_session", "a-session-token")
            page = client.get("/", headers={"Accept": "text/html"})
            api = client.get("/api/cases", headers={"Authorization": "Bearer tl_whatever"})
            ready = client.get("/readyz")
        finally:
            cluster.start()
        assert page.status_code == 503 and page.headers["retry-after"] == "5"
        assert "Database unavailable" in page.text and "<html" in page.text.lower()
        assert api.status_code == 503
        assert api.json() == {"detail": "database unavailable: try again in a moment"}
        assert ready.status_code == 503 and ready.json()["spooled"] == 0
        # And back: the same page works again without a restart.
        assert client.get("/", headers={"Accept": "text/html"}).status_code in (200, 303)
