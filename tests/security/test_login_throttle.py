"""Failed sign-ins cannot be turned against a user: the wait they earn belongs to one (address,
username) pair, never to the account or to the whole address, and nothing in the answer says
whether a username exists or is locked."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.auth.limits import FREE_FAILURES, MAX_WAIT, wait_after
from app.kit.db import unit_of_work, utcnow
from app.models import AuditEvent, LoginFailure, User
from tests.dashboard.signin import PASSWORD, add_user, post_login

WRONG = "Wrong username or password."
BASE = "https://textline.example.org"


@contextmanager
def browser_at(app: Any, address: str) -> Iterator[TestClient]:
    """A browser whose requests come from `address`."""
    with TestClient(app, base_url=BASE, client=(address, 50000)) as c:
        yield c


def restart_waits(app: Any) -> None:
    """As if every failure so far had just happened: on a loaded machine the password checks in
    between can take longer than the shortest wait, which is not what these tests are about."""
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(LoginFailure).values(last_failed_at=utcnow()))


def let_waits_pass(app: Any) -> None:
    """As if every wait earned so far had run out (and no more: the count stays)."""
    with unit_of_work(app.state.sessions) as s:
        for row in s.execute(select(LoginFailure)).scalars():
            row.last_failed_at -= wait_after(row.failures)


def fail(client: TestClient, app: Any, username: str, times: int) -> None:
    """`times` wrong passwords that count, each after the wait the last one earned."""
    for _ in range(times):
        let_waits_pass(app)
        resp = post_login(client, username, "not-the-right-password")
        assert resp.status_code == 401, resp.text


def failed_events(app: Any) -> int:
    with unit_of_work(app.state.sessions) as s:
        return s.execute(select(func.count()).select_from(AuditEvent)
                         .where(AuditEvent.action == "auth.login_failed")).scalar_one()


def test_five_failures_by_one_user_leave_another_user_at_that_address_free(app):
    add_user(app, "alice")
    add_user(app, "bob")
    with browser_at(app, "198.51.100.7") as desk, browser_at(app, "198.51.100.7") as next_desk:
        fail(desk, app, "alice", 5)
        # bob, behind the same address, mistypes once and then gets it right: neither answer
        # waits (one colleague's typing used to slow everyone there, by 4 s here, 8 s later).
        for password, status in (("bobs-wrong-password", 401), (PASSWORD, 303)):
            began = time.monotonic()
            resp = post_login(next_desk, "bob", password)
            took = time.monotonic() - began
            assert resp.status_code == status, resp.text
            assert took < 1.5, f"bob waited {took:.2f}s"
        # alice herself, at that address, waits before her next try...
        restart_waits(app)
        held = post_login(desk, "alice", PASSWORD)
        assert held.status_code == 429 and "Try again in" in held.text
    # ...but nobody can hold her account shut: from another address her password works.
    with browser_at(app, "203.0.113.20") as elsewhere:
        assert post_login(elsewhere, "alice").status_code == 303
    # That good sign-in forgot only its own pair: the desk's pair still waits.
    restart_waits(app)
    with browser_at(app, "198.51.100.7") as desk:
        assert post_login(desk, "alice", PASSWORD).status_code == 429
    with unit_of_work(app.state.sessions) as s:
        user = s.execute(select(User).where(User.username == "alice")).scalar_one()
        assert user.locked_until is None  # never locked by failures


def test_a_good_sign_in_forgets_its_own_pair(app):
    add_user(app, "alice")
    with browser_at(app, "198.51.100.8") as desk:
        fail(desk, app, "alice", FREE_FAILURES)
        assert post_login(desk, "alice").status_code == 303
        with unit_of_work(app.state.sessions) as s:
            assert s.execute(select(func.count()).select_from(LoginFailure)).scalar_one() == 0
            user = s.execute(select(User).where(User.username == "alice")).scalar_one()
            assert user.failed_logins == 0


def test_the_wait_rises_and_is_refused_without_hashing_or_counting(app):
    add_user(app, "alice")
    assert [wait_after(n).total_seconds() for n in range(1, 9)] == [0, 0, 0, 1, 2, 4, 8, 16]
    assert wait_after(1000) == MAX_WAIT  # a wait, never a lock
    with browser_at(app, "198.51.100.9") as desk:
        fail(desk, app, "alice", FREE_FAILURES + 3)  # now 4 s to wait
        before = failed_events(app)
        began = time.monotonic()
        held = post_login(desk, "alice", "another-wrong-password")
        took = time.monotonic() - began
        assert held.status_code == 429
        assert 1 <= int(held.headers["retry-after"]) <= 4
        assert "Try again in 4 seconds" in held.text
        assert "ask a supervisor to clear it" in held.text
        assert failed_events(app) == before  # not counted, not audited: nothing was checked
        assert took < 0.1, f"a refused attempt took {took:.3f}s: was a password hashed?"
        with unit_of_work(app.state.sessions) as s:
            assert s.execute(select(LoginFailure.failures)).scalar_one() == FREE_FAILURES + 3


def test_an_unknown_name_earns_the_same_wait(app):
    """Otherwise the wait itself would tell which usernames exist."""
    add_user(app, "alice")
    with browser_at(app, "198.51.100.10") as desk:
        for name in ("alice", "nobody"):
            fail(desk, app, name, FREE_FAILURES + 1)
            resp = post_login(desk, name, "x-wrong-password")
            assert resp.status_code == 429 and "Try again in 1 second," in resp.text, name


def _time_answer(app: Any, address: str, username: str, password: str) -> tuple[float, str]:
    with browser_at(app, address) as c:
        c.get("/login")
        began = time.monotonic()
        resp = post_login(c, username, password)
        took = time.monotonic() - began
    assert resp.status_code == 401, (username, resp.status_code)
    return took, resp.text


def test_unknown_locked_disabled_and_wrong_answer_alike(app):
    for name in ("alice", "lena", "dora"):
        add_user(app, name)
    with unit_of_work(app.state.sessions) as s:  # lena locked by an admin, dora disabled
        s.execute(update(User).where(User.username == "lena")
                  .values(locked_until=utcnow() + timedelta(hours=1)))
        s.execute(update(User).where(User.username == "dora").values(active=False))
    cases = {"wrong password": ("alice", "not-the-password"), "unknown": ("nobody", PASSWORD),
             "locked": ("lena", PASSWORD), "disabled": ("dora", PASSWORD)}
    times: dict[str, list[float]] = {k: [] for k in cases}
    for round_ in range(3):
        for i, (what, (username, password)) in enumerate(cases.items()):
            took, page = _time_answer(app, f"192.0.2.{10 * round_ + i}", username, password)
            times[what].append(took)
            assert WRONG in page, what
            assert "locked" not in page.lower() and "disabled" not in page.lower(), what
    medians = {k: statistics.median(v) for k, v in times.items()}
    wrong = medians["wrong password"]
    for took in medians.values():
        # Each pays one Argon2 check (about a tenth of a second); the old locked answer took 6 ms.
        assert 0.5 * wrong < took < 2 * wrong, medians
    # The admin lock holds, against the right password too.
    with browser_at(app, "192.0.2.99") as c:
        assert post_login(c, "lena").status_code == 401
