import pytest

from app.gazetteer.normalise import normalise, tokenize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Clapham Jn.", "clapham junction"),
        ("clapham jct", "clapham junction"),
        ("CLAPHAM JUNCTION", "clapham junction"),
        ("King's X", "kings cross"),
        ("kings x", "kings cross"),
        ("KingsX", "kings cross"),
        ("charing x", "charing cross"),
        ("thanks x", "thanks x"),
        ("Exeter St David's", "exeter st davids"),
        ("exeter saint davids", "exeter st davids"),
        ("Liverpool Street", "liverpool st"),
        ("liverpool st.", "liverpool st"),
        ("Highbury & Islington", "highbury and islington"),
        ("MCR Picc", "manchester piccadilly"),
        ("brum new st", "birmingham new st"),
        ("Stoke-on-Trent", "stoke on trent"),
        ("Ebbsfleet Intl", "ebbsfleet international"),
        ("Bristol Pkwy", "bristol parkway"),
        ("station rd", "station road"),
        ("finsbury park stn", "finsbury park station"),
        ("  lots   of   space  ", "lots of space"),
        ("", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_spans_point_into_the_original_text() -> None:
    text = "Lad at Clapham Jn, plat 4"
    tokens = tokenize(text)
    assert [text[t.start : t.end] for t in tokens] == ["Lad", "at", "Clapham", "Jn", "plat", "4"]
    assert tokens[3].text == "junction"


def test_spans_survive_characters_that_lower_case_to_two() -> None:
    text = "İstanbul clapham"
    tokens = tokenize(text)
    assert text[tokens[-1].start : tokens[-1].end] == "clapham"
