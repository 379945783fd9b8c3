"""The language on the queue row, the case page and each text; canned replies in the case's
language first."""

from __future__ import annotations

import re

from tests.dashboard.signin import sign_in
from tests.helpers import text_in

WELSH = "Mae dyn yn gweiddi ac yn bygwth pobl ar blatfform 2 yn Abertawe nawr"


def _first_canned(page: str) -> str:
    group = re.search(r'<div class="canned"[^>]*lang="(\w+)"', page)
    assert group is not None
    return group.group(1)


def test_a_welsh_case_shows_its_language_and_offers_welsh_replies(app, client):
    sign_in(client, app)
    text_in(client, WELSH)
    page = client.get("/cases/1").text
    assert "<dt>Language</dt>" in page and "Welsh" in page
    assert 'title="Language of this text: Welsh">cy<' in page
    assert _first_canned(page) == "cy" and "Ydyn nhw yno o hyd?" in page
    assert "Are they still there?" in page  # the other language, folded beneath
    queue = client.get("/").text
    assert 'title="Language of the texts: Welsh">cy<' in queue


def test_an_english_case_offers_english_replies_first(app, client):
    sign_in(client, app)
    text_in(client, "man shouting and threatening people on platform 2 at swansea now")
    page = client.get("/cases/1").text
    assert _first_canned(page) == "en"
    assert "English" in page


def test_another_language_is_named_with_the_interpreter_note(app, client):
    sign_in(client, app)
    text_in(client, "Dziecko w pociągu z mężczyzną, boi się")
    page = client.get("/cases/1").text
    assert "Polish" in page and "an interpreter can be arranged" in page
