"""The published corpus, played through the webhook and the JSON API as an adaptive texter."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import migrate
from app.config import Settings
from app.main import create_app
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, unavailable
from tests.corpus.runner import CORPUS, Driver, load_corpus, play, report
from tests.helpers import PUBLIC, token_for

FULL_STATIONS = CORPUS.parents[1] / "data" / "gb_rail_stations.csv"


def _need(path: Path, what: str) -> None:
    if not path.exists():
        unavailable(what, f"missing at {path}")


@pytest.fixture(scope="module")
def corpus_outcomes(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    _need(CORPUS, "the conversation corpus")
    _need(FULL_STATIONS, "the full station list")
    db = tmp_path_factory.mktemp("corpus") / "corpus.db"
    migrate.upgrade(f"sqlite:///{db}")
    settings = Settings(database_url=f"sqlite:///{db}", public_url=PUBLIC,
                        twilio_auth_token=TEST_AUTH_TOKEN, twilio_account_sid=TEST_ACCOUNT_SID,
                        sms_provider="console", stations_file=FULL_STATIONS,
                        secret_key="test-secret-key-0123456789abcdef")
    app = create_app(settings)
    headers = token_for(app)
    with TestClient(app, base_url=PUBLIC) as client:
        driver = Driver(
            post_form=lambda path, data, h: client.post(path, data=data, headers=h),
            get_json=lambda path: client.get(path, headers=headers).json(),
            public_url=PUBLIC, auth_token=TEST_AUTH_TOKEN,
        )
        outcomes = [play(driver, spec) for spec in load_corpus()]
    out = io.StringIO()
    pct = report(outcomes, out, verbose=bool(os.environ.get("CORPUS_VERBOSE")))
    print("\n" + out.getvalue())
    return outcomes, pct, out.getvalue()


def test_corpus_score_is_100_percent(corpus_outcomes):
    outcomes, pct, text = corpus_outcomes
    assert len(outcomes) == len(load_corpus())
    assert pct == 100.0, text
