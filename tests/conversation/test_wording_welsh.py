"""The Welsh wording: every bot text has one, GSM-7 and at most two segments; a wording file
may replace either language alone."""

from __future__ import annotations

import pytest

from app.conversation.gsm import segments
from app.conversation.wording import REQUIRED, WordingError, load_wording

LONGEST = {"reference": "TL-261128-99999", "choices": "1 Cardiff Central, 2 Cardiff Queen Street"}


@pytest.mark.parametrize("key", sorted(REQUIRED))
def test_every_text_has_a_welsh_version_that_fits(key: str) -> None:
    w = load_wording(None)
    welsh = w.render(key, "cy", **LONGEST)
    english = w.render(key, "en", **LONGEST)
    assert welsh != english
    count, encoding = segments(welsh)
    assert encoding == "GSM-7" and count <= 2


def test_a_file_may_replace_the_welsh_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "wording.yaml"
    path.write_text('cy:\n  help: "Llinell decstio. Mewn argyfwng ffoniwch 999."\n',
                    encoding="utf-8")
    w = load_wording(str(path))
    assert w.render("help", "cy") == "Llinell decstio. Mewn argyfwng ffoniwch 999."
    assert w.render("help", "en") == load_wording(None).render("help", "en")


def test_a_welsh_text_that_is_not_gsm7_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "wording.yaml"
    path.write_text('cy:\n  help: "Mae\u2019r gwasanaeth ar gael 😊"\n', encoding="utf-8")
    with pytest.raises(WordingError, match="GSM-7"):
        load_wording(str(path))


def test_the_welsh_section_must_be_a_mapping(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "wording.yaml"
    path.write_text('cy: "nid mapio"\n', encoding="utf-8")
    with pytest.raises(WordingError, match="cy"):
        load_wording(str(path))
