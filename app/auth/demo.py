"""Demo users for `textline serve --demo`: created only where missing, passwords printed once."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from app.auth.passwords import one_time_password
from app.auth.service import create_user
from app.kit.config import Settings
from app.kit.db import make_engine, make_sessionmaker, unit_of_work
from app.models import User

DEMO_USERS = (("operator", "operator"), ("supervisor", "supervisor"))


@dataclass(frozen=True)
class DemoUsers:
    created: list[tuple[str, str]] = field(default_factory=list)  # (username, one-time password)
    existing: list[str] = field(default_factory=list)  # made by an earlier start; never printed


def create_demo_users(settings: Settings) -> DemoUsers:
    created: list[tuple[str, str]] = []
    existing: list[str] = []
    engine = make_engine(settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        for username, role in DEMO_USERS:
            if session.execute(select(User.id).where(User.username == username)).first():
                existing.append(username)
                continue
            password = one_time_password()
            create_user(session, username, role, password, actor="demo",
                        must_change_password=True)
            created.append((username, password))
    engine.dispose()
    return DemoUsers(created, existing)
