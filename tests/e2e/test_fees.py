"""Fees and slippage per asset class on real fills: each order shows its fee and whether it
made or took liquidity, and the ledger, the account and the trades agree on it."""

from dataclasses import replace
from decimal import Decimal

import pytest

from handlers import keys
from tests.e2e.test_monitor import settled
from tests.e2e.trading_support import account, assert_books_balance, order, set_price
from trading.fees import schedule_from
from trading.money import from_units, show

SCHEDULE = {
    "crypto": {"maker_bps": 2, "taker_bps": 10, "slippage_bps": 10},
    "us_equity": {"model": "per_share", "per_share": "0.005", "min": 1, "max_pct": 1},
    "in_equity": {"model": "india", "slippage_bps": 0},
}


@pytest.fixture
async def fee_api(servers, settings):
    trading = replace(settings.trading, fees=schedule_from(SCHEDULE, settings.trading.schedule))
    api = await servers.start(replace(settings, trading=trading))
    set_price(api, "BTCUSDT", "50000")
    set_price(api, "AAPL", "100")
    set_price(api, "RELIANCE.NS", "2900")
    set_price(api, "USDINR", "80")
    return api


@pytest.fixture
async def trader(fee_api):
    return (await fee_api.account())["access_token"]


async def get(api, token, order_id):
    _, body = await api.call("GET", f"/api/v1/orders/{order_id}", token=token)
    return body["order"]


async def tick(api, symbol, price):
    set_price(api, symbol, price)
    await settled(api)


async def assert_fees_agree(api, token):
    """The orders' fees are the ledger's commission entries, the account's fees and the
    trades' fees; and the books balance."""
    db = api.app[keys.STORE].db
    ledger = [e["amount"] async for e in db["ledger"].find({"reason": "commission"})]
    orders = [o["fee"] async for o in db["orders"].find({"status": "filled"})]
    trades = [t["fees"] async for t in db["trades"].find({})]
    assert orders and -sum(ledger) == sum(orders) == sum(trades)
    assert (await account(api, token))["fees"] == show(from_units(sum(orders)))
    await assert_books_balance(api)


async def test_a_crypto_market_order_takes_liquidity_and_pays_the_taker_fee(fee_api, trader):
    sock = await fee_api.socket(trader)
    status, body = await order(fee_api, trader, symbol="BTCUSDT", quantity="0.1")
    assert status == 201, body
    filled = body["order"]
    # 10 bps of slippage, then 10 bps of 50050 x 0.1
    assert (filled["filled_price"], filled["fee"], filled["liquidity"]) == (
        "50050", "5.005", "taker")
    event = await sock.next("order_update")
    assert (event["order"]["fee"], event["order"]["liquidity"]) == ("5.005", "taker")
    [entry] = [e async for e in fee_api.app[keys.STORE].db["ledger"].find({})]
    assert (entry["reason"], entry["amount"]) == ("commission", -500_500_000)
    balances = await account(fee_api, trader)
    assert (balances["cash"], balances["fees"]) == ("99994.995", "5.005")
    await assert_fees_agree(fee_api, trader)


async def test_a_resting_limit_order_reached_by_the_price_makes_liquidity(fee_api, trader):
    _, body = await order(fee_api, trader, symbol="BTCUSDT", type="limit",
                          limit_price="49000", quantity="0.1")
    placed = body["order"]
    # Its cost at its limit and the larger (taker) fee are reserved; no fee yet.
    assert (placed["status"], placed["reserved"], placed["fee"], placed["liquidity"]) == (
        "open", "4904.9", None, None)
    await tick(fee_api, "BTCUSDT", "48990")
    filled = await get(fee_api, trader, placed["id"])
    # No slippage for a maker: the tick's price, and 2 bps of 4899.
    assert (filled["status"], filled["filled_price"], filled["fee"], filled["liquidity"]) == (
        "filled", "48990", "0.9798", "maker")
    balances = await account(fee_api, trader)
    assert (balances["reserved"], balances["fees"]) == ("0", "0.9798")
    await assert_fees_agree(fee_api, trader)


async def test_a_limit_order_marketable_when_placed_takes_liquidity_within_its_limit(
        fee_api, trader):
    _, body = await order(fee_api, trader, symbol="BTCUSDT", type="limit",
                          limit_price="50030", quantity="0.1")
    await tick(fee_api, "BTCUSDT", "49990")
    filled = await get(fee_api, trader, body["order"]["id"])
    # 50039.99 with slippage, but never worse than its limit; the taker's 10 bps of that.
    assert (filled["status"], filled["filled_price"], filled["fee"], filled["liquidity"]) == (
        "filled", "50030", "5.003", "taker")
    await assert_fees_agree(fee_api, trader)


async def test_a_stop_takes_and_a_stop_limit_that_rested_after_its_stop_makes(fee_api, trader):
    _, stop = await order(fee_api, trader, symbol="BTCUSDT", type="stop", stop_price="50100",
                          quantity="0.1")
    _, stop_limit = await order(fee_api, trader, symbol="BTCUSDT", type="stop_limit",
                                stop_price="50200", limit_price="50150", quantity="0.1")
    await tick(fee_api, "BTCUSDT", "50100")  # the stop fills at the market, with slippage
    filled = await get(fee_api, trader, stop["order"]["id"])
    assert (filled["filled_price"], filled["fee"], filled["liquidity"]) == (
        "50150.1", "5.01501", "taker")
    await tick(fee_api, "BTCUSDT", "50250")  # the stop-limit's stop: past its limit, it rests
    assert (await get(fee_api, trader, stop_limit["order"]["id"]))["status"] == "open"
    await tick(fee_api, "BTCUSDT", "50140")  # the price comes to its limit: a maker's fill
    filled = await get(fee_api, trader, stop_limit["order"]["id"])
    assert (filled["status"], filled["filled_price"], filled["fee"], filled["liquidity"]) == (
        "filled", "50140", "1.0028", "maker")
    await assert_fees_agree(fee_api, trader)


async def test_a_resting_sell_that_reduces_a_position_makes_and_an_ioc_limit_takes(
        fee_api, trader):
    await order(fee_api, trader, symbol="BTCUSDT", quantity="0.2")  # 10.01 as a taker
    _, body = await order(fee_api, trader, symbol="BTCUSDT", side="sell", type="limit",
                          limit_price="51000", quantity="0.1")
    assert body["order"]["reserved"] == "5.1"  # it closes what is held: the fee alone
    await tick(fee_api, "BTCUSDT", "51010")
    filled = await get(fee_api, trader, body["order"]["id"])
    assert (filled["filled_price"], filled["fee"], filled["liquidity"]) == (
        "51010", "1.0202", "maker")
    _, body = await order(fee_api, trader, symbol="BTCUSDT", type="limit",
                          limit_price="51100", time_in_force="ioc", quantity="0.1")
    assert (body["order"]["filled_price"], body["order"]["fee"],
            body["order"]["liquidity"]) == ("51061.01", "5.106101", "taker")
    _, trades = await fee_api.call("GET", "/api/v1/trades?symbol=BTCUSDT&status=open",
                                   token=trader)
    assert sorted(t["fees"] for t in trades["trades"]) == ["11.0302", "5.106101"]
    await assert_fees_agree(fee_api, trader)


async def test_a_stock_pays_per_share_with_a_minimum_once_per_order(fee_api, trader):
    _, body = await order(fee_api, trader, quantity="500")
    # 0.005 x 500 shares; the class has no slippage configured.
    assert (body["order"]["filled_price"], body["order"]["fee"]) == ("100", "2.5")
    for _ in range(2):
        _, body = await order(fee_api, trader, quantity="10")  # 0.05: the $1 minimum
        assert (body["order"]["fee"], body["order"]["liquidity"]) == ("1", "taker")
    # One sell closes the three lots and opens a short: one order, one fee of 530 x
    # 0.005 (no minimum per lot), shared in proportion by the lots it closes and opens.
    _, body = await order(fee_api, trader, side="sell", quantity="530")
    assert (body["order"]["fee"], body["order"]["liquidity"]) == ("2.65", "taker")
    _, trades = await fee_api.call("GET", "/api/v1/trades?symbol=AAPL&status=closed",
                                   token=trader)
    assert sorted(t["fees"] for t in trades["trades"]) == ["1.05", "1.05", "5"]
    _, trades = await fee_api.call("GET", "/api/v1/trades?symbol=AAPL&status=open",
                                   token=trader)
    assert [(t["side"], t["quantity"], t["fees"]) for t in trades["trades"]] == [
        ("sell", "10", "0.05")]
    await assert_fees_agree(fee_api, trader)


async def test_an_exit_of_a_trade_pays_the_taker_fee_of_its_side(fee_api, trader):
    _, body = await order(fee_api, trader, symbol="RELIANCE.NS", quantity="10")
    # India: brokerage, exchange, SEBI, GST, stamp: 12.186554 INR, in dollars at 80.
    assert (body["order"]["fee"], body["order"]["fx_rate"]) == ("0.15233192", "80")
    trade_id = body["order"]["trade_id"]
    status, body = await fee_api.call("POST", f"/api/v1/trades/{trade_id}/exit", {},
                                      token=trader)
    assert status == 200, body
    _, trades = await fee_api.call("GET", "/api/v1/trades?status=closed", token=trader)
    [closed] = trades["trades"]
    # The sell pays STT and no stamp duty: 18.566554 INR, 0.23208192 USD.
    assert Decimal(closed["fees"]) == Decimal("0.15233192") + Decimal("0.23208192")
    assert (await account(fee_api, trader))["fees"] == "0.38441384"
    db = fee_api.app[keys.STORE].db
    entries = sorted([(e["amount"], e["amount_quote"], e["currency"])
                      async for e in db["ledger"].find({"reason": "commission"})])
    assert entries == [(-23_208_192, -1_856_655_400, "INR"), (-15_233_192, -1_218_655_400, "INR")]
    await assert_books_balance(fee_api)


async def test_an_asset_shows_its_fees_and_slippage(fee_api):
    _, body = await fee_api.call("GET", "/api/v1/assets/btc-usdt")
    assert (body["asset"]["fees"], body["asset"]["slippage_bps"]) == (
        {"model": "bps", "maker_bps": "2", "taker_bps": "10"}, "10")
    _, body = await fee_api.call("GET", "/api/v1/assets/AAPL")
    assert body["asset"]["fees"] == {"model": "per_share", "per_share": "0.005", "min": "1",
                                     "max_pct": "1"}
    _, body = await fee_api.call("GET", "/api/v1/assets/RELIANCE.NS")
    assert (body["asset"]["fees"]["model"], body["asset"]["fees"]["stt_sell_bps"]) == (
        "india", "2.5")
    _, body = await fee_api.call("GET", "/api/v1/assets/^NSEI")  # not in FEE_SCHEDULE
    assert (body["asset"]["fees"], body["asset"]["slippage_bps"]) == (
        {"model": "bps", "maker_bps": "0", "taker_bps": "0"}, "0")
