"""The whole path in Welsh: webhook -> case, Welsh answers, languages stored and shown in JSON,
the same decision as the English twin, the preference kept, hostile text stored unchanged."""

from __future__ import annotations

from tests.cases.test_intake_dispatch import case_of
from tests.helpers import converse, token_for

WELSH = "Mae dyn gyda chyllell ar blatfform 3 yng Nghaerdydd Canolog, nawr"
ENGLISH = "A man with a knife on platform 3 at Cardiff Central, now"


def test_welsh_text_gets_welsh_answers_and_the_english_twins_decision(app, client):
    headers = token_for(app)
    cy_replies = converse(client, WELSH, phone="+447700900201")
    en_replies = converse(client, ENGLISH, phone="+447700900202")
    assert cy_replies and "ffoniwch 999" in cy_replies[0]
    assert en_replies and "call 999" in en_replies[0]
    cy, en = case_of(client, headers, "+447700900201"), case_of(client, headers, "+447700900202")
    assert cy["language"] == "cy" and en["language"] == "en"
    for key in ("decision", "queue"):
        assert cy["decision"][key] == en["decision"][key]
    assert cy["priority"] == en["priority"] == "P1"
    assert cy["location"]["station"]["crs"] == en["location"]["station"]["crs"]
    inbound = [m for m in cy["messages"] if m["direction"] == "inbound"]
    assert inbound[0]["language"] == "cy" and inbound[0]["body"] == WELSH
    assert any(r["evidence"] == "chyllell" for r in cy["risk"])


def test_short_answers_keep_the_welsh_and_hostile_text_is_stored_as_sent(app, client):
    headers = token_for(app)
    phone = "+447700900203"
    converse(client, "Mae dyn yn gweiddi ar bobl ar y tren", phone=phone)
    hostile = "ok 😱 \u202eשלום\u202c Ma\u0301e"
    replies = converse(client, hostile, phone=phone)
    case = case_of(client, headers, phone)
    assert case["language"] == "cy"
    assert all("Thank you" not in r for r in replies)
    bodies = [m["body"] for m in case["messages"] if m["direction"] == "inbound"]
    assert hostile in bodies


def test_the_preference_is_kept_for_a_new_case_from_the_same_number(app, client):
    headers = token_for(app)
    phone = "+447700900204"
    converse(client, "Mae dyn yn gweiddi ar bobl ar y tren", phone=phone)
    first = case_of(client, headers, phone)
    client.post(f"/api/cases/{first['id']}/close", json={"outcome": "done"}, headers=headers)
    # A reopened case keeps the conversation's language; a short text says nothing new.
    replies = converse(client, "helo", phone=phone)
    assert replies and "Thank you" not in " ".join(replies)


def test_a_welsh_station_by_its_welsh_name_matches_the_english_twin(app, client):
    headers = token_for(app)
    welsh = ["Mae dyn hyn yn rhoi pecyn i hogyn ysgol ar y platfform yn y Fenni",
             "tua 14", "ydy, rwan"]
    english = ["An older man is handing a package to a school boy on the platform at Abergavenny",
               "about 14", "yes, now"]
    said: dict[str, list[str]] = {}
    for phone, texts in (("+447700900211", welsh), ("+447700900212", english)):
        said[phone] = [reply for text in texts for reply in converse(client, text, phone=phone)]
    cy = case_of(client, headers, "+447700900211")
    en = case_of(client, headers, "+447700900212")
    assert cy["language"] == "cy" and en["language"] == "en"
    assert said["+447700900211"] and all("Thank you" not in r for r in said["+447700900211"])
    for key in ("immediacy", "priority"):
        assert cy[key] == en[key]
    assert cy["location"]["station"]["crs"] == en["location"]["station"]["crs"] == "AGV"
    assert cy["age"]["min"] == en["age"]["min"] and cy["age"]["child"] is True
    assert cy["decision"]["decision"] == en["decision"]["decision"] == "999"
    assert {r["indicator"] for r in cy["risk"]} == {r["indicator"] for r in en["risk"]}
