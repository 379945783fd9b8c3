"""A password change checks and hashes a password, as a sign-in does: it takes a place from the
same bound on hashes in flight, so signed-in users changing passwords in a loop cannot starve
the webhook either. With no place free it is refused at once and nothing changes."""

from __future__ import annotations

from tests.dashboard.signin import PASSWORD, page_csrf, post_login, sign_in

NEW = "a-new-and-long-enough-passphrase-7"


def _change(client, csrf):  # type: ignore[no-untyped-def]
    return client.post("/password", data={"current": PASSWORD, "new": NEW, "confirm": NEW,
                                          "csrf_token": csrf}, follow_redirects=False)


def test_a_change_with_no_hash_place_free_is_refused_at_once(app, client):
    sign_in(client, app)
    csrf = page_csrf(client, "/password")
    slots = app.state.hash_slots
    taken, slots.free = slots.free, 0
    try:
        resp = _change(client, csrf)
    finally:
        slots.free = taken
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "1"
    assert "busy" in resp.text
    client.cookies.clear()
    assert post_login(client, "alice").status_code == 303  # the old password still works


def test_a_change_gives_its_place_back(app, client):
    sign_in(client, app)
    before = app.state.hash_slots.free
    assert _change(client, page_csrf(client, "/password")).status_code == 303
    assert app.state.hash_slots.free == before
    bad = _change(client, page_csrf(client, "/password"))  # the old password is wrong now
    assert bad.status_code == 422
    assert app.state.hash_slots.free == before
