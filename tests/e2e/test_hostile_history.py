"""Hostile requests against the history, positions and bracket routes: each found a
500, lost or doubled money, or a position flipped by a race; each must now get a clear
answer and leave the books balanced."""

from __future__ import annotations

import pytest

from tests.e2e.trading_support import set_price


@pytest.fixture
async def trader(api):
    token = (await api.account())["access_token"]
    set_price(api, "AAPL", "100")
    set_price(api, "BTCUSDT", "65000")
    return token


@pytest.mark.parametrize("params", [
    {"after": "0001-01-01T00:00:00+01:00"},  # an hour before year 1 in UTC
    {"until": "9999-12-31T23:59:59-01:00"},  # an hour past year 9999 in UTC
    {"after": "0001-01-01T00:30+00:31", "direction": "asc"},
    {"until": "9999-12-31T23:00:00-23:59", "direction": "asc"},
])
async def test_activity_times_beyond_what_a_date_holds_in_utc_are_refused(api, trader, params):
    status, body = await api.call("GET", "/api/v1/account/activities", token=trader,
                                  params=params)
    assert status == 400, body
    field = "after" if "after" in params else "until"
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["details"]["field"] == field
