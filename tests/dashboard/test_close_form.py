"""The case page's close form: the outcome text offered, edited, refused where it must be."""

from __future__ import annotations

from sqlalchemy import select, update

from app.kit.db import unit_of_work
from app.models import Case, Message, Reporter
from tests.dashboard.signin import sign_in
from tests.helpers import text_in


def _sent(app) -> list[Message]:  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        return list(s.execute(select(Message).where(Message.author.like("operator:%"))).scalars())


def _status(app) -> str:  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        return s.execute(select(Case.status)).scalar_one()


def test_the_form_offers_the_outcome_texts_with_the_reference(app, client):
    sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    page = client.get("/cases/1").text
    with app.state.sessions() as s:
        reference = s.execute(select(Case.reference)).scalar_one()
    assert 'id="close-notify" name="notify_reporter" value="true" checked' in page
    assert f'data-label="Officers attended" data-text="Update on your report {reference}:' in page
    assert 'id="close-text" name="text"' in page


def test_an_edited_outcome_text_is_sent_and_a_redirect_keeps_no_anchor(app, client):
    csrf = sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    resp = client.post("/cases/1/close", data={
        "outcome": "Officers attended", "notify_reporter": "true",
        "text": "Officers spoke to him and he left. Thank you.", "csrf_token": csrf},
        follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/cases/1?done=close"
    [sent] = _sent(app)
    assert sent.body == "Officers spoke to him and he left. Thank you."
    assert _status(app) == "closed"


def test_unticked_nothing_is_sent_even_with_a_text_in_the_box(app, client):
    csrf = sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    resp = client.post("/cases/1/close", data={"outcome": "Officers attended",
                                               "text": "left in the box", "csrf_token": csrf})
    assert resp.status_code == 200 and "Case closed." in resp.text
    assert _sent(app) == []


def test_discreet_needs_the_confirmation_and_keeps_what_was_written(app, client):
    csrf = sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(Case).values(discreet=True))
    page = client.get("/cases/1").text
    assert 'id="close-notify" name="notify_reporter" value="true">' in page  # not ticked
    data = {"outcome": "No further action", "notify_reporter": "true",
            "text": "All dealt with, thank you.", "csrf_token": csrf}
    refused = client.post("/cases/1/close", data=data)
    assert refused.status_code == 409 and "Send anyway" in refused.text
    assert "All dealt with, thank you.</textarea>" in refused.text
    assert _status(app) == "open" and _sent(app) == []
    ok = client.post("/cases/1/close", data={**data, "confirm_discreet": "true"})
    assert ok.status_code == 200 and [m.body for m in _sent(app)] == ["All dealt with, thank you."]


def test_after_stop_the_form_offers_no_text(app, client):
    csrf = sign_in(client, app)
    text_in(client, "someone shouting at kings cross")
    with unit_of_work(app.state.sessions) as s:
        s.execute(update(Reporter).values(opted_out=True))
    page = client.get("/cases/1").text
    assert 'id="close-notify"' not in page and "cannot be texted to them" in page
    forced = client.post("/cases/1/close", data={"outcome": "Officers attended",
                                                 "notify_reporter": "true", "csrf_token": csrf})
    assert forced.status_code == 409 and "opted out" in forced.text
    assert _status(app) == "open" and _sent(app) == []
