"""Trailing stops follow the best price since entry and close the trade once."""

import pytest

from handlers import keys
from tests.e2e.test_monitor import settled
from tests.e2e.trading_support import assert_books_balance, order, set_price


@pytest.fixture
async def trader(api):
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    return tokens["access_token"]


async def tick(api, price):
    set_price(api, "AAPL", price)
    await settled(api)


async def closed(api, token):
    _, body = await api.call("GET", "/api/v1/trades?status=closed", token=token)
    return body["trades"]


async def test_a_long_trailing_stop_by_amount_follows_the_high(api, trader):
    _, body = await order(api, trader, trailing_amount="5")
    assert body["order"]["trailing_amount"] == "5"
    await tick(api, "96")  # 95 not reached
    await tick(api, "110")  # stop moves to 105
    await tick(api, "106")
    assert await closed(api, trader) == []
    await tick(api, "104.9")
    [trade] = await closed(api, trader)
    assert (trade["close_reason"], trade["close_price"], trade["realized_pnl"]) == (
        "trailing_stop", "104.9", "49")
    await assert_books_balance(api)


async def test_a_short_trailing_stop_by_percent_follows_the_low(api, trader):
    await order(api, trader, side="sell", trailing_percent="10")
    await tick(api, "109")  # 110 not reached
    await tick(api, "80")   # stop moves to 88
    await tick(api, "87.9")
    assert await closed(api, trader) == []
    await tick(api, "88")
    [trade] = await closed(api, trader)
    assert (trade["close_reason"], trade["close_price"]) == ("trailing_stop", "88")


@pytest.mark.parametrize("fields", [
    {"trailing_amount": "5", "trailing_percent": "1"}, {"trailing_percent": "0"},
    {"trailing_percent": "100"}, {"trailing_amount": "-1"}])
async def test_bad_trailing_stops_are_refused(api, trader, fields):
    status, body = await order(api, trader, **fields)
    assert (status, body["error"]["code"]) == (400, "invalid_price")


async def test_a_trailing_stop_can_be_set_on_an_open_trade_and_cleared(api, trader):
    _, body = await order(api, trader)
    trade_id = body["order"]["trade_id"]
    await tick(api, "120")
    status, body = await api.call("PATCH", f"/api/v1/trades/{trade_id}",
                                  {"trailing_amount": "10"}, token=trader)
    assert (status, body["trade"]["trailing_amount"]) == (200, "10")
    await tick(api, "111")  # 120 - 10 = 110: not yet
    assert await closed(api, trader) == []
    _, body = await api.call("PATCH", f"/api/v1/trades/{trade_id}",
                             {"trailing_amount": None}, token=trader)
    assert body["trade"]["trailing_amount"] is None
    await tick(api, "100")
    assert await closed(api, trader) == []


async def test_the_best_price_so_far_survives_a_restart(servers, settings, api, trader):
    await order(api, trader, trailing_amount="5")
    await tick(api, "130")  # stop at 125
    await servers.stop(api)  # the monitor saves moved stops as it stops
    again = await servers.start(settings)
    set_price(again, "AAPL", "126")
    await settled(again)
    assert await closed(again, trader) == []
    set_price(again, "AAPL", "124.5")
    await settled(again)
    [trade] = await closed(again, trader)
    assert trade["close_reason"] == "trailing_stop"
    assert again.app[keys.MONITOR].trailing["AAPL"] == {}
