"""The key that signs dashboard sessions and CSRF tokens."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from app.kit.db import insert_ignoring_conflict, unit_of_work
from app.kit.runtime import Runtime
from app.models import AppSetting


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
