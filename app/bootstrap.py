"""Building the runtime from settings, and first-start housekeeping."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from app.cases.conversation import AcknowledgeOnly
from app.config import Settings
from app.db import insert_ignoring_conflict, make_engine, make_sessionmaker, unit_of_work
from app.events import EventBus
from app.models import AppSetting
from app.runtime import Runtime


def build_runtime(settings: Settings) -> Runtime:
    engine = make_engine(settings.database_url)
    return Runtime(settings=settings, engine=engine, sessions=make_sessionmaker(engine),
                   intake=AcknowledgeOnly(), events=EventBus())


def ensure_secret_key(rt: Runtime) -> str:
    """TEXTLINE_SECRET_KEY, or one generated on first start and kept in the database."""
    if rt.settings.secret_key is not None:
        return rt.settings.secret_key.get_secret_value()
    with unit_of_work(rt.sessions) as session:
        insert_ignoring_conflict(session, AppSetting,
                                 {"key": "secret_key", "value": secrets.token_urlsafe(48)}, ["key"])
        return session.execute(
            select(AppSetting.value).where(AppSetting.key == "secret_key")
        ).scalar_one()
