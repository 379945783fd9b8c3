"""Closing with the outcome texted to the reporter (POST /api/cases/{id}/close, notify_reporter)."""

from __future__ import annotations

from collections import deque

import pytest
from sqlalchemy import func, select

from app.cases.actions import DISCREET, NO_OUTCOME_TEXT, OPTED_OUT, TEXT_WITHOUT_NOTIFY
from app.cases.outcomes import LONGEST_REFERENCE, check, outcome_texts, text_for
from app.conversation.gsm import is_gsm7, segments
from app.models import Message, Outbox, Reporter
from app.sms.providers import ConsoleProvider
from app.sms.worker import drain_once
from tests.audit.test_exports import get, rows_csv
from tests.cases.test_actions_helpers import PHONE, audits, load_case, open_case, update_case
from tests.helpers import text_in, token_for


@pytest.fixture
def alice(app):  # type: ignore[no-untyped-def]
    return token_for(app, "operator", "alice")


def close(client, case_id, headers, **payload):  # type: ignore[no-untyped-def]
    return client.post(f"/api/cases/{case_id}/close",
                       json={"outcome": "Officers attended", **payload}, headers=headers)


def operator_texts(app, case_id: int) -> list[Message]:  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        return list(s.execute(select(Message).where(
            Message.case_id == case_id, Message.author.like("operator:%"))
            .order_by(Message.id)).scalars())


def outbox_rows(app) -> int:  # type: ignore[no-untyped-def]
    with app.state.sessions() as s:
        return s.execute(select(func.count(Outbox.id)).where(Outbox.kind == "sms",
                                                             Outbox.message_id.is_not(None))
                         ).scalar_one()


# the texts themselves

def test_every_outcome_text_is_plain_and_fits_two_texts():
    labels = {o.label for o in outcome_texts()}
    assert {"Officers attended", "Passed to local force", "No further action",
            "Advice given"} <= labels
    for item in outcome_texts():
        filled = item.for_case(LONGEST_REFERENCE)
        assert is_gsm7(filled) and segments(filled)[0] <= 2, item.label


@pytest.mark.parametrize("entries, problem", [
    ([{"label": "x", "text": "It’s done"}], "GSM-7"),
    ([{"label": "x", "text": "a" * 307}], "longer than 2"),
    ([{"label": "x", "text": "Your {case} is closed"}], "only {reference}"),
    ([{"label": "x"}], "needs a label and a text"),
    ([], "expected a list"),
])
def test_a_bad_outcome_file_is_refused_naming_the_problem(entries, problem):
    with pytest.raises(ValueError, match=problem):
        check(entries)


def test_the_text_for_an_outcome_is_found_by_its_label_in_any_case():
    text = text_for("  officers   ATTENDED ", "TL-261128-0042")
    assert text is not None and "TL-261128-0042" in text and "{" not in text
    assert text_for("Safeguarding referral", "TL-1") is None


# through the API

def test_close_texts_the_outcome_once_through_the_outbox(app, client, alice):
    case_id = open_case(client, app)
    reference = load_case(app, case_id).reference
    resp = close(client, case_id, alice, notify_reporter=True)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["status"] == "closed" and out["outcome"] == "Officers attended"
    expected = text_for("Officers attended", reference)
    [sent] = [m for m in out["messages"] if m["author"] == "operator:alice"]
    assert sent["body"] == expected and sent["direction"] == "outbound"
    assert sent["status"] == "queued"
    assert load_case(app, case_id).first_response_at is not None
    [queued] = [e for e in audits(app, "message.queued") if e.actor == "alice"]
    assert queued.data["outcome_text"] is True and queued.data["message_id"] == sent["id"]
    [closed] = audits(app, "case.closed")
    assert closed.data == {"outcome": "Officers attended", "notified_message_id": sent["id"]}
    # The outbox sends it once, to the texter; a second close is refused and queues nothing.
    record: deque = deque()
    rt = app.state.runtime
    while drain_once(rt, provider=ConsoleProvider(record)):
        pass
    mine = [s for s in record if s.body == expected]
    assert len(mine) == 1 and mine[0].to == PHONE
    rows = outbox_rows(app)
    assert close(client, case_id, alice, notify_reporter=True).status_code == 409
    assert outbox_rows(app) == rows
    assert drain_once(rt, provider=ConsoleProvider(record)) == 0


def test_the_operator_may_edit_the_text_and_lookalikes_are_made_plain(app, client, alice):
    case_id = open_case(client, app)
    resp = close(client, case_id, alice, notify_reporter=True, outcome="Safeguarding referral",
                 text="  We’ve passed this to the safeguarding team – thank you.  ")
    assert resp.status_code == 200, resp.text
    [sent] = operator_texts(app, case_id)
    assert sent.body == "We've passed this to the safeguarding team - thank you."
    assert (sent.segments, sent.encoding) == (1, "GSM-7")


def test_without_notify_nothing_is_texted(app, client, alice):
    case_id = open_case(client, app)
    assert close(client, case_id, alice).status_code == 200
    assert operator_texts(app, case_id) == []
    assert audits(app, "case.closed")[0].data == {"outcome": "Officers attended"}


@pytest.mark.parametrize("payload, status, detail", [
    ({"notify_reporter": True, "outcome": "Duplicate of another case"}, 422, NO_OUTCOME_TEXT),
    ({"text": "we sorted it"}, 422, TEXT_WITHOUT_NOTIFY),
    ({"notify_reporter": True, "text": "x" * 1601}, 422, None),
    ({"notify_reporter": True, "text": "bell\x07"}, 422, None),
    ({"notify_reporter": "perhaps"}, 422, None),
])
def test_bad_close_requests_leave_the_case_open(app, client, alice, payload, status, detail):
    case_id = open_case(client, app)
    resp = close(client, case_id, alice, **payload)
    assert resp.status_code == status
    if detail:
        assert resp.json()["detail"] == detail
    assert load_case(app, case_id).status == "open"
    assert operator_texts(app, case_id) == []


def test_never_after_stop(app, client, alice):
    case_id = open_case(client, app)
    text_in(client, "STOP")
    with app.state.sessions() as s:
        assert s.execute(select(Reporter.opted_out)).scalar_one() is True
    resp = close(client, case_id, alice, notify_reporter=True, confirm_discreet=True)
    assert resp.status_code == 409 and resp.json()["detail"] == OPTED_OUT
    assert load_case(app, case_id).status == "open"
    assert operator_texts(app, case_id) == []
    assert close(client, case_id, alice).status_code == 200  # closing alone is still fine


def test_discreet_reporter_only_when_the_operator_confirms(app, client, alice):
    case_id = open_case(client, app)
    update_case(app, case_id, discreet=True)
    refused = close(client, case_id, alice, notify_reporter=True)
    assert refused.status_code == 409 and refused.json()["detail"] == DISCREET
    assert load_case(app, case_id).status == "open" and operator_texts(app, case_id) == []
    ok = close(client, case_id, alice, notify_reporter=True, confirm_discreet=True)
    assert ok.status_code == 200
    assert len(operator_texts(app, case_id)) == 1
    [queued] = [e for e in audits(app, "message.queued") if e.actor == "alice"]
    assert queued.data["discreet_confirmed"] is True


def test_the_outcome_text_is_in_the_messages_export(app, client, alice):
    case_id = open_case(client, app)
    assert close(client, case_id, alice, notify_reporter=True).status_code == 200
    body = operator_texts(app, case_id)[0].body
    sup = token_for(app, "supervisor", "sue")
    rows = rows_csv(get(client, "/api/exports/messages.csv", sup).text)
    assert [r["author"] for r in rows if r["body"] == body] == ["operator:alice"]


def test_a_thank_you_to_the_outcome_text_keeps_the_case_closed(app, client, alice):
    case_id = open_case(client, app)
    assert close(client, case_id, alice, notify_reporter=True).status_code == 200
    text_in(client, "ok thank you")
    assert load_case(app, case_id).status == "closed"
    text_in(client, "they are back on the platform")
    assert load_case(app, case_id).status == "open"  # anything more reopens, within 24 hours
