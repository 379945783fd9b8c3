"""A private PostgreSQL cluster for this folder's tests, made and removed by them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.kit import migrate
from tests.conftest import unavailable
from tests.spool.pgcluster import Cluster, server_bin


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    bindir = server_bin()
    if bindir is None:
        unavailable("The PostgreSQL server binaries (initdb, pg_ctl)",
                    "none under /usr/lib/postgresql/*/bin or on PATH; install postgresql")
    made = Cluster(bindir)  # type: ignore[arg-type]
    try:
        made.start()
        yield made
    finally:
        made.destroy()


@pytest.fixture
def pg_url(cluster: Cluster) -> str:
    """A new, migrated database on the private cluster (which is running)."""
    cluster.create_database()
    migrate.upgrade(cluster.url)
    return cluster.url
