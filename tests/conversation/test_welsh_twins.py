"""Welsh texts and their English twins: the same decision, the same station and immediacy.

Each pair says the same thing; the Welsh is written as people text it (mutations, accents or
none, northern and southern forms)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.conversation.engine import Engine
from app.conversation.language import load_detector
from app.conversation.state import State
from app.dispatch.decide import DispatchFacts, decide
from app.dispatch.rules import load_rules
from app.gazetteer.loader import load_gazetteer
from tests.corpus.runner import STATIONS

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
ENGINE = Engine(load_gazetteer(str(STATIONS)), detect=load_detector())
RULES = load_rules(None)

TWINS = [
    ("Mae 'na ferch fach yn crio ar ben ei hun ar blatfform 2 yn Llanelli rwan",
     "There's a little girl crying on her own on platform 2 at Llanelli right now"),
    ('Dyn yn dangos ei hun i ferched ar y tren o Abertawe i Gaerfyrddin',
     'A man exposing himself to girls on the train from Swansea to Carmarthen'),
    ("Mae bachgen ifanc yn cael ei fwlio gan griw o fechgyn hyn ar y tren i'r Barri, maen nhw'n ei daro fo",
     'A young boy is being bullied by a group of older boys on the train to Barry, they are hitting him'),
    ("Dwi'n meddwl bod rhywun wedi cymryd cyffuriau, mae o'n anymwybodol yn y toiledau yng Nghaerdydd Canolog",
     'I think someone has taken drugs, he is unconscious in the toilets at Cardiff Central'),
    ('Mae dyn yn ceisio gwerthu cyffuriau i blant ysgol yng ngorsaf Pontypridd nawr',
     'A man is trying to sell drugs to school kids at Pontypridd station now'),
    ("Roedd dyn yn fy nilyn i o'r orsaf yn Wrecsam neithiwr, dwi'n ofnus",
     "A man was following me from the station in Wrexham last night, I'm scared"),
    ('Mae dau ddyn yn ymladd yn y cerbyd C ar y tren 14:30 o Gaerdydd i Fanceinion',
     'Two men are fighting in coach C on the 14:30 train from Cardiff to Manchester'),
    ("Merch 14 oed efo dyn 30 oed, mae o'n prynu alcohol iddi, ar y tren i Gaer rwan",
     'A 14 year old girl with a 30 year old man, he is buying her alcohol, on the train to Chester now'),
    ('Mae dyn yn tynnu lluniau o dan sgertiau merched ar y grisiau symudol yng Nghaerdydd',
     "A man is taking photos up girls' skirts on the escalator at Cardiff"),
    ("Mae hen wraig wedi syrthio ar y platfform yn Aberystwyth ac mae hi'n gwaedu",
     'An old woman has fallen on the platform at Aberystwyth and she is bleeding'),
    ('Mae rhywun wedi torri ffenest y tren gyda morthwyl, rwan, ym Machynlleth',
     'Someone has broken the train window with a hammer, now, at Machynlleth'),
    ('Mae gan y bachgen gyllell yn ei fag, gwelais i hi, mae o ar y tren i Abertawe',
     'The boy has a knife in his bag, I saw it, he is on the train to Swansea'),
    ("Mae merch yn sefyll yn rhy agos i ymyl y platfform yn Y Fenni ac yn crio, dwi'n poeni y bydd hi'n neidio",
     "A girl is standing too close to the edge of the platform at Abergavenny and crying, I'm worried she will jump"),
    ('Criw o bobl ifanc yn taflu cerrig at y tren ger Rhymni',
     'A group of young people throwing stones at the train near Rhymney'),
    ("Mae plentyn tua 12 oed ar y trên o Gaerdydd i Abertawe gyda dyn hŷn, mae o'n edrych yn ofnus",
     'There is a child of about 12 on the train from Cardiff to Swansea with an older man, he is looking scared'),
    ('Mae dyn meddw yn gweiddi ac yn rhegi ar bawb yn y cerbyd ar y tren i Gasnewydd',
     'A drunk man is shouting and swearing at everyone in the carriage on the train to Newport'),
    ('Mae merch tua 13 wedi bod yn cael anrhegion gan ddyn hyn ar y tren bob dydd',
     'A girl about 13 has been getting gifts from an older man on the train every day'),
    ("Mae bachgen tua 15 oed yn cario bag i ddynion ac maen nhw'n talu arian iddo fo, yng ngorsaf Castell-nedd nawr",
     'A boy about 15 is carrying a bag for men and they are paying him money, at Neath station now'),
    ('Dyn wedi gafael yn fy mraich ac yn gwrthod gadael fynd ar blatfform 3 yn Abertawe',
     "A man grabbed my arm and won't let go on platform 3 at Swansea"),
    ('Mae dynes yn sgrechian bod rhywun wedi dwyn ei phlentyn ar y platfform yng Nghaerffili',
     'A woman is screaming that someone has taken her child on the platform at Caerphilly'),
]


def _read(text: str):  # type: ignore[no-untyped-def]
    heard = ENGINE.hear(State.initial("TL-1"), text, NOW)
    facts = heard.state.facts
    decision = decide(DispatchFacts.from_facts(facts, discreet=heard.state.discreet,
                                               local_time=None), RULES)
    station = facts.location.station.crs if facts.location and facts.location.station else None
    immediacy = facts.immediacy.value if facts.immediacy else None
    return heard.language, (decision.decision, decision.queue, decision.priority), station, immediacy


@pytest.mark.parametrize(("welsh", "english"), TWINS)
def test_welsh_twin_gets_the_english_decision(welsh: str, english: str) -> None:
    cy, en = _read(welsh), _read(english)
    assert cy[0] == "cy"
    assert cy[1] == en[1]
    assert cy[3] == en[3]
    if en[2] is not None:
        assert cy[2] == en[2]
