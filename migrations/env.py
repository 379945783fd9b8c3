"""Alembic environment: the URL and engine come from the app, so tests and the CLI share them."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from app import models  # noqa: F401  (registers every table on Base.metadata)
from app.kit.db import Base, make_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url")
    if url:
        return url
    from app.kit.config import load_settings

    return load_settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _render_item(type_: str, obj, autogen_context):  # type: ignore[no-untyped-def]
    """Render the app's column types as plain SQLAlchemy ones, so revisions never import app code."""
    from app.kit.db import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    # Batch mode lets ALTER-style changes work on SQLite, which rebuilds the table. Rebuilding
    # a table that other rows point at (cases, from messages) fails while SQLite enforces
    # foreign keys, so they are off for the migration. The pragma only works outside a
    # transaction, so it goes to the driver's connection before the migration's begins.
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True, compare_type=True,
                          render_item=_render_item)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
