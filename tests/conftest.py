"""Test databases built by the migrations, on SQLite always and on PostgreSQL when reachable.

Each backend is migrated once per run; each test then gets a clean copy (SQLite: a copy of the
migrated file; PostgreSQL: its own schema's tables truncated).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.kit import migrate

PG_BASE = os.environ.get("TEXTLINE_TEST_POSTGRES_URL",
                         "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_AUTH_TOKEN = "test-auth-token-0123456789abcdef"
TEST_ACCOUNT_SID = "AC" + "a" * 32


def postgres_reachable() -> str | None:
    """None when reachable, else why not."""
    try:
        engine = create_engine(PG_BASE, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "not here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def unavailable(what: str, why: str) -> None:
    """Skip outside CI, saying why; in CI nothing may be skipped, so fail instead."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI: {why}")
    pytest.skip(f"{what} not available ({why}); these tests run in CI")


def require_postgres() -> None:
    why = postgres_reachable()
    if why is not None:
        unavailable("PostgreSQL", f"unreachable at {PG_BASE}: {why}")


class Database:
    """A migrated database for one backend; fresh() hands out a clean URL per test."""

    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        if backend == "sqlite":
            self.template = workdir / "template.db"
            migrate.upgrade(f"sqlite:///{self.template}")
            self.workdir = workdir
        else:
            self.schema = f"t_{uuid.uuid4().hex[:12]}"
            admin = create_engine(PG_BASE)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            self.url = f"{PG_BASE}?options=-csearch_path%3D{self.schema}"
            migrate.upgrade(self.url)
            self.engine = create_engine(self.url)

    def fresh(self) -> str:
        if self.backend == "sqlite":
            path = self.workdir / f"{uuid.uuid4().hex[:10]}.db"
            shutil.copy(self.template, path)
            return f"sqlite:///{path}"
        with self.engine.begin() as conn:
            tables = [r[0] for r in conn.execute(text(
                "select tablename from pg_tables where schemaname = current_schema() "
                "and tablename <> 'alembic_version'"))]
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                              + " RESTART IDENTITY CASCADE"))
            conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"),
                         {"h": "0" * 64})
            conn.execute(text("UPDATE alembic_version SET version_num = :v"),
                         {"v": migrate.head_revision()})
        return self.url

    def close(self) -> None:
        if self.backend == "postgresql":
            self.engine.dispose()
            admin = create_engine(PG_BASE)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            admin.dispose()


_databases: dict[str, Database] = {}


@pytest.fixture(scope="session")
def _db_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("db")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        require_postgres()
    return request.param


@pytest.fixture
def database_url(backend: str, _db_workdir: Path) -> str:
    if backend not in _databases:
        _databases[backend] = Database(backend, _db_workdir)
    return _databases[backend].fresh()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for db in _databases.values():
        db.close()
    _databases.clear()


@pytest.fixture
def settings_kwargs(database_url: str, tmp_path: Path) -> dict[str, object]:
    return {
        "database_url": database_url,
        # Each test its own: a text one test spooled must not drain into the next one's inbox.
        "spool_dir": tmp_path / "spool",
        "public_url": "https://textline.example.org",
        "twilio_auth_token": TEST_AUTH_TOKEN,
        "twilio_account_sid": TEST_ACCOUNT_SID,
        "sms_provider": "console",
        "secret_key": "test-secret-key-0123456789abcdef",
        # Tests drive the outbox themselves; a background worker would race them.
        "run_worker": False,
    }


@pytest.fixture
def settings(settings_kwargs: dict[str, object]):  # type: ignore[no-untyped-def]
    from app.kit.config import Settings

    return Settings(**settings_kwargs)  # type: ignore[arg-type]


@pytest.fixture
def app(settings):  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://textline.example.org") as c:
        yield c
