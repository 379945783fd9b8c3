"""Out-of-range times in the API are refused with a clear error, never a 500."""

from __future__ import annotations

import pytest

from tests.helpers import token_for


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
def test_a_since_out_of_range_is_a_clear_error(app, client, since):
    resp = client.get("/api/cases", params={"since": since}, headers=token_for(app))
    assert resp.status_code == 400
    assert "out of range" in resp.json()["detail"]


def test_supervisor_dates_out_of_range_fall_back_with_a_message(app, client):
    import datetime as dt

    from app.supervisor.router import _range

    today = dt.date(2026, 12, 7)
    first, last, message = _range(None, "0001-01-01", today)
    assert first < last == today and message and "1970" in message
