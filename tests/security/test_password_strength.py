"""A new password must be long and not easy to guess, wherever it is set: `user add`,
`reset-password` and the dashboard's own password change."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.auth.passwords import require_strong
from app.auth.service import create_user
from app.kit.db import unit_of_work
from app.kit.errors import Unprocessable
from app.models import User
from tests.dashboard.signin import PASSWORD, page_csrf, sign_in
from tests.test_cli import run

WEAK = {
    "password1234": "very common password",
    "aaaaaaaaaaaa": "repeats",
    "qwertyuiop12": "commonly used password",
    "abcdefghijkl": "sequences",
    "olly-olly-olly": "repeats",
}


@pytest.mark.parametrize(("password", "why"), WEAK.items())
def test_weak_passwords_are_refused_saying_why(password, why):
    with pytest.raises(Unprocessable) as refused:
        require_strong(password, user_inputs=("olly",))
    assert "too easy to guess" in refused.value.message and why in refused.value.message


def test_length_comes_first():
    with pytest.raises(Unprocessable, match="at least 12 characters"):
        require_strong("Xq7#vT9!pL")


@pytest.mark.parametrize("password", ["correct-horse-battery", "Tr0ub4dor&3-staple",
                                      "abcd-efgh-jkmn-pqrs", "x" + "Qz9!" * 40])
def test_strong_passwords_pass(password):
    require_strong(password)


def test_the_service_refuses_a_weak_password(app):
    with unit_of_work(app.state.sessions) as s, pytest.raises(Unprocessable):
        create_user(s, "olly", "operator", "password1234", actor="test")
    with unit_of_work(app.state.sessions) as s:
        assert s.execute(select(func.count()).select_from(User)).scalar_one() == 0


def test_the_cli_refuses_weak_passwords_in_one_line(database_url):
    env = {"TEXTLINE_DATABASE_URL": database_url}
    for password in ("password1234", "aaaaaaaaaaaa"):
        done = run(["user", "add", "olly", "--role", "operator", "--password-stdin"], env,
                   stdin=password + "\n")
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stderr.count("\n") == 1 and "too easy to guess" in done.stderr
    assert run(["user", "add", "olly", "--role", "operator", "--password-stdin"], env,
               stdin="a-long-enough-password\n").returncode == 0
    done = run(["user", "reset-password", "olly", "--password-stdin"], env,
               stdin="password1234\n")
    assert done.returncode == 1 and "too easy to guess" in done.stderr


def test_the_dashboard_refuses_a_weak_new_password(app, client):
    sign_in(client, app, "olly")
    csrf = page_csrf(client, "/password")
    for weak in ("password1234", "aaaaaaaaaaaa"):
        resp = client.post("/password", data={"current": PASSWORD, "new": weak, "confirm": weak,
                                              "csrf_token": csrf})
        assert resp.status_code == 422 and "too easy to guess" in resp.text
    good = client.post("/password", data={"current": PASSWORD, "new": "plum-ferry-quartz-lamp",
                                          "confirm": "plum-ferry-quartz-lamp",
                                          "csrf_token": csrf}, follow_redirects=False)
    assert good.status_code == 303
