"""Instruments quoted in another currency than the account's, against the real app: INR
prices converted into USD at USDINR when an order fills and when it closes, the rate
recorded, and no order without a fresh rate (trading/fx.py)."""

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest

from handlers import keys
from tests.e2e.trading_support import account, assert_books_balance, charging, order, set_price
from trading.money import to_units


def units(text: str) -> int:
    return to_units(Decimal(text))


@pytest.fixture
async def api(servers, settings):
    """A server that charges 0.1% commission, so fills leave fee entries to look at."""
    return await servers.start(charging(settings))


@pytest.fixture
async def trader(api):
    token = (await api.account())["access_token"]
    set_price(api, "USDINR", "80")
    set_price(api, "RELIANCE.NS", "2900")
    return token


async def ledger(api, reason):
    entries = api.app[keys.STORE].db["ledger"].find({"reason": reason}).sort("at", 1)
    return [entry async for entry in entries]


async def test_buying_an_inr_stock_charges_its_cost_converted_at_usdinr(api, trader):
    status, body = await order(api, trader, symbol="RELIANCE.NS", quantity="10")
    assert status == 201, body
    filled = body["order"]
    assert (filled["status"], filled["filled_price"], filled["currency"],
            filled["fx_rate"]) == ("filled", "2900", "INR", "80")
    balances = await account(api, trader)
    # 10 x 2900 INR = 29000 INR = 362.5 USD of margin; the fee 29 INR = 0.3625 USD.
    assert (balances["currency"], balances["margin_used"], balances["fees"],
            balances["cash"], balances["available"]) == (
        "USD", "362.5", "0.3625", "99999.6375", "99637.1375")
    [fee] = await ledger(api, "commission")
    assert (fee["amount"], fee["amount_quote"], fee["currency"], fee["fx_pair"],
            fee["fx_rate"]) == (units("-0.3625"), units("-29"), "INR", "USDINR", units("80"))
    _, trades = await api.call("GET", "/api/v1/trades?status=open", token=trader)
    [trade] = trades["trades"]
    assert (trade["currency"], trade["entry_fx_rate"], trade["margin"]) == ("INR", "80",
                                                                           "362.5")
    await assert_books_balance(api)


async def test_account_and_positions_value_an_inr_position_in_dollars_and_rupees(api, trader):
    await order(api, trader, symbol="RELIANCE.NS", quantity="10")
    set_price(api, "RELIANCE.NS", "2980")
    set_price(api, "USDINR", "100")
    _, body = await api.call("GET", "/api/v1/positions/RELIANCE.NS", token=trader)
    position = body["position"]
    assert (position["currency"], position["fx_rate"], position["market_value_quote"],
            position["unrealized_pnl_quote"], position["market_value"],
            position["unrealized_pnl"]) == ("INR", "100", "29800", "800", "298", "8")
    balances = await account(api, trader)
    assert (balances["unrealized_pnl"], balances["equity"]) == ("8", "100007.6375")
    _, body = await api.call("GET", "/api/v1/positions", token=trader)
    assert [p["symbol"] for p in body["positions"]] == ["RELIANCE.NS"]


async def test_selling_at_another_rate_realizes_the_pnl_at_the_closes_rate(api, trader):
    await order(api, trader, symbol="RELIANCE.NS", quantity="10")
    set_price(api, "RELIANCE.NS", "3000")
    set_price(api, "USDINR", "85")
    status, body = await order(api, trader, symbol="RELIANCE.NS", side="sell", quantity="10")
    assert (status, body["order"]["fx_rate"]) == (201, "85")
    balances = await account(api, trader)
    # 10 x (3000 - 2900) = 1000 INR at 85 = 11.76470588 USD; the margin locked at the
    # buy's rate (362.5) is released as it was; fees: 29 INR at 80 and 30 INR at 85.
    assert (balances["realized_pnl"], balances["margin_used"], balances["fees"]) == (
        "11.76470588", "0", "0.71544118")
    assert balances["cash"] == "100011.0492647"  # 100000 + 11.76470588 - 0.71544118
    [pnl] = await ledger(api, "realized_pnl")
    assert (pnl["amount"], pnl["amount_quote"], pnl["currency"], pnl["fx_rate"]) == (
        units("11.76470588"), units("1000"), "INR", units("85"))
    _, trades = await api.call("GET", "/api/v1/trades?status=closed", token=trader)
    [closed] = trades["trades"]
    assert [(e["pnl"], e["pnl_quote"], e["fx_rate"]) for e in closed["exits"]] == [
        ("11.76470588", "1000", "85")]
    await assert_books_balance(api)


async def test_an_exit_converts_at_the_rate_of_the_exit(api, trader):
    _, body = await order(api, trader, symbol="RELIANCE.NS", quantity="10")
    set_price(api, "RELIANCE.NS", "2800")
    set_price(api, "USDINR", "90")
    status, trade = await api.call(
        "POST", f"/api/v1/trades/{body['order']['trade_id']}/exit", {"quantity": "4"},
        token=trader)
    assert status == 200, trade
    # 4 x (2800 - 2900) = -400 INR at 90 = -4.44444444 USD.
    assert (trade["trade"]["realized_pnl"], trade["trade"]["exits"][0]["fx_rate"]) == (
        "-4.44444444", "90")
    [pnl] = await ledger(api, "realized_pnl")
    assert (pnl["amount"], pnl["amount_quote"], pnl["fx_rate"]) == (
        units("-4.44444444"), units("-400"), units("90"))
    await assert_books_balance(api)


async def test_a_stale_fx_rate_refuses_the_order_and_stores_nothing(api, trader, later):
    later(seconds=31)  # USDINR's last price is now stale
    set_price(api, "RELIANCE.NS", "2900")
    for fields in ({}, {"type": "limit", "limit_price": "2800"}):
        status, body = await order(api, trader, symbol="RELIANCE.NS", quantity="10", **fields)
        assert (status, body["error"]["code"]) == (409, "fx_unavailable"), body
        assert body["error"]["details"] == {"symbol": "RELIANCE.NS", "currency": "INR",
                                            "pair": "USDINR"}
        assert "USDINR" in body["error"]["message"]
    _, orders = await api.call("GET", "/api/v1/orders", token=trader)
    assert orders["orders"] == []
    balances = await account(api, trader)
    assert (balances["cash"], balances["available"], balances["seq"]) == ("100000", "100000", 0)
    assert await ledger(api, "commission") == []
    # A fresh rate lets it through.
    set_price(api, "USDINR", "80")
    assert (await order(api, trader, symbol="RELIANCE.NS", quantity="1"))[0] == 201
    await assert_books_balance(api)


async def test_a_currency_without_a_configured_pair_refuses_its_orders(servers, settings,
                                                                       caplog):
    api = await servers.start(replace(settings, market=replace(
        settings.market, symbols="sim:AAPL=190,RELIANCE.NS=2900")))
    assert any("no FX pair converts INR into USD" in r.getMessage() for r in caplog.records)
    token = (await api.account())["access_token"]
    set_price(api, "RELIANCE.NS", "2900")
    status, body = await order(api, token, symbol="RELIANCE.NS", quantity="1")
    assert (status, body["error"]["code"], body["error"]["details"]["pair"]) == (
        409, "fx_unavailable", None)
    assert "USDINR" in body["error"]["message"]  # what to configure
    set_price(api, "AAPL", "190")
    assert (await order(api, token, symbol="AAPL", quantity="1"))[0] == 201


async def test_usdt_pairs_are_dollars_at_one_and_say_so(api, trader):
    set_price(api, "BTCUSDT", "65000")
    status, body = await order(api, trader, symbol="BTCUSDT", quantity="0.01")
    assert (status, body["order"]["currency"], body["order"]["fx_rate"]) == (201, "USDT", "1")
    assert (await account(api, trader))["margin_used"] == "650"
    await assert_books_balance(api)


async def tick(api, symbol, price):
    set_price(api, symbol, price)
    tasks = set(api.app[keys.MONITOR].tasks)
    if tasks:
        await asyncio.wait(tasks, timeout=5)


async def test_the_monitor_waits_for_a_fresh_rate_then_fills_and_stops_at_it(api, trader,
                                                                           later):
    status, body = await order(api, trader, symbol="RELIANCE.NS", type="limit",
                               limit_price="2850", quantity="10", stop_loss="2700")
    assert (status, body["order"]["reserved"]) == (201, "356.60625")  # 28500 + 28.5 INR at 80
    later(seconds=31)
    await tick(api, "RELIANCE.NS", "2840")  # crosses the limit, but USDINR is stale
    _, orders = await api.call("GET", "/api/v1/orders?status=open", token=trader)
    assert len(orders["orders"]) == 1
    set_price(api, "USDINR", "82")
    await tick(api, "RELIANCE.NS", "2845")
    _, orders = await api.call("GET", "/api/v1/orders?status=filled", token=trader)
    [filled] = orders["orders"]
    # Filled at the tick's price, converted at the fresh rate (the reservation at 80
    # released): 28450 INR at 82 = 346.95121951 USD.
    assert (filled["filled_price"], filled["fx_rate"]) == ("2845", "82")
    assert (await account(api, trader))["margin_used"] == "346.95121951"
    set_price(api, "USDINR", "84")
    await tick(api, "RELIANCE.NS", "2695")  # the stop-loss, at the rate now
    [closed] = (await api.call("GET", "/api/v1/trades?status=closed", token=trader))[1][
        "trades"]
    # 10 x (2695 - 2845) = -1500 INR at 84 = -17.85714286 USD.
    assert (closed["close_reason"], closed["realized_pnl"], closed["exits"][0]["fx_rate"]) == (
        "stop_loss", "-17.85714286", "84")
    await assert_books_balance(api)
