"""Alpaca's Trading API v2 (/v2): alpaca-py's TradingClient runs unchanged against a
PaperDesk server, every answer parsed by the SDK's own models."""

from __future__ import annotations

import json
from datetime import date, timedelta
from uuid import UUID

import pytest
from alpaca.trading.enums import (
    ActivityType,
    AssetClass,
    OrderClass,
    OrderSide,
    OrderStatus,
    OrderType,
    QueryOrderStatus,
    TimeInForce,
)
from alpaca.trading.models import (
    Asset,
    NonTradeActivity,
    Order,
    PortfolioHistory,
    TradeAccount,
    TradeActivity,
)
from alpaca.trading.requests import (
    ClosePositionRequest,
    CreateWatchlistRequest,
    GetAssetsRequest,
    GetCalendarRequest,
    GetOrdersRequest,
    GetPortfolioHistoryRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
    UpdateWatchlistRequest,
)

from handlers.alpaca import shapes
from tests.e2e.alpaca_support import Bot, bot_of, fails
from tests.e2e.trading_support import set_price
from tests.support import Api


@pytest.fixture
async def bot(api: Api) -> Bot:
    return await bot_of(api)


# -- account, clock, calendar, assets --

async def test_the_account_clock_calendar_and_assets_parse_as_alpacas(bot: Bot):
    account = await bot(bot.client.get_account)
    assert isinstance(account, TradeAccount)
    assert account.status == "ACTIVE" and account.cash == account.equity == "100000"
    assert account.buying_power == "100000" and account.currency == "USD"
    clock = await bot(bot.client.get_clock)
    assert clock.next_close >= clock.timestamp
    start = date(2026, 1, 1)
    days = await bot(bot.client.get_calendar,
                     GetCalendarRequest(start=start, end=start + timedelta(days=13)))
    assert [d.date for d in days][:2] == [date(2026, 1, 2), date(2026, 1, 5)]
    assert (days[0].open.hour, days[0].open.minute, days[0].close.hour) == (9, 30, 16)
    assets = await bot(bot.client.get_all_assets)
    symbols = [a.symbol for a in assets]
    assert {"AAPL", "BTCUSDT"} <= set(symbols) and symbols == sorted(symbols)
    crypto = await bot(bot.client.get_all_assets, GetAssetsRequest(asset_class=AssetClass.CRYPTO))
    assert "BTCUSDT" in {a.symbol for a in crypto} and "AAPL" not in {a.symbol for a in crypto}
    assert {(a.asset_class, a.exchange) for a in crypto} == {(AssetClass.CRYPTO, "CRYPTO")}
    by_symbol = await bot(bot.client.get_asset, "AAPL")
    assert isinstance(by_symbol, Asset) and by_symbol.id == UUID(shapes.asset_id("AAPL"))
    by_id = await bot(bot.client.get_asset, str(by_symbol.id))
    assert by_id.symbol == "AAPL" and by_id.tradable
    assert (await bot(bot.client.get_asset, "BTC/USD")).symbol == "BTCUSDT"
    missing = await fails(bot, bot.client.get_asset, "NOPE")
    assert (missing.status_code, missing.code) == (404, 40410000)


async def test_account_configurations_are_paperdesks_and_a_change_is_refused(bot: Bot):
    configuration = await bot(bot.client.get_account_configurations)
    assert configuration.no_shorting is False and configuration.suspend_trade is False
    same = await bot(bot.client.set_account_configurations, configuration)
    assert same == configuration
    refused = await fails(bot, bot.client.set_account_configurations,
                          configuration.model_copy(update={"suspend_trade": True}))
    assert (refused.status_code, refused.code) == (422, 42210000)
    assert "suspend_trade" in refused.message


# -- orders --

async def test_simple_orders_of_each_type_are_placed_and_parsed(bot: Bot):
    submit = bot.client.submit_order
    market = await bot(submit, MarketOrderRequest(symbol="AAPL", qty=2, side=OrderSide.BUY,
                                                  time_in_force=TimeInForce.DAY))
    assert isinstance(market, Order)
    assert (market.status, market.filled_qty, market.filled_avg_price) == (
        OrderStatus.FILLED, "2", "100")
    assert market.asset_id == UUID(shapes.asset_id("AAPL"))
    limit = await bot(submit, LimitOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                                time_in_force=TimeInForce.GTC, limit_price=90,
                                                client_order_id="my-limit-1"))
    assert (limit.status, limit.type, limit.limit_price) == (OrderStatus.NEW, OrderType.LIMIT,
                                                             "90")
    stop = await bot(submit, StopOrderRequest(symbol="AAPL", qty=1, side=OrderSide.SELL,
                                              time_in_force=TimeInForce.GTC, stop_price=95))
    assert (stop.status, stop.stop_price) == (OrderStatus.NEW, "95")
    stop_limit = await bot(submit, StopLimitOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
        stop_price=110, limit_price=111))
    assert stop_limit.type == OrderType.STOP_LIMIT
    trailing = await bot(submit, TrailingStopOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC,
        trail_percent=5))
    assert (trailing.type, trailing.trail_percent, trailing.hwm) == (
        OrderType.TRAILING_STOP, "5", "100")
    notional = await bot(submit, MarketOrderRequest(symbol="BTC/USD", notional=650,
                                                    side=OrderSide.BUY,
                                                    time_in_force=TimeInForce.GTC))
    assert (notional.symbol, notional.asset_class, notional.filled_qty) == (
        "BTCUSDT", AssetClass.CRYPTO, "0.01")
    # Alpaca names a crypto position BTCUSD: that finds the configured pair too.
    position = await bot(bot.client.get_open_position, "BTCUSD")
    assert (position.symbol, position.qty) == ("BTCUSDT", "0.01")
    asset = await bot(bot.client.get_asset, "BTCUSD")
    assert (asset.symbol, position.asset_marginable) == ("BTCUSDT", asset.marginable)
    found = await bot(bot.client.get_order_by_client_id, "my-limit-1")
    assert found.id == limit.id
    assert (await bot(bot.client.get_order_by_id, limit.id)).client_order_id == "my-limit-1"


async def test_bracket_oco_and_oto_orders_nest_their_legs(bot: Bot):
    submit = bot.client.submit_order
    bracket = await bot(submit, MarketOrderRequest(
        symbol="AAPL", qty=3, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
        order_class=OrderClass.BRACKET, take_profit=TakeProfitRequest(limit_price=120),
        stop_loss=StopLossRequest(stop_price=90, limit_price=89)))
    assert bracket.order_class == OrderClass.BRACKET and bracket.status == OrderStatus.FILLED
    legs = {leg.type: leg for leg in bracket.legs or []}
    assert legs[OrderType.LIMIT].limit_price == "120"
    assert (legs[OrderType.STOP_LIMIT].stop_price, legs[OrderType.STOP_LIMIT].status) == (
        "90", OrderStatus.NEW)
    oco = await bot(submit, LimitOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC,
        order_class=OrderClass.OCO, take_profit=TakeProfitRequest(limit_price=130),
        stop_loss=StopLossRequest(stop_price=80)))
    assert oco.order_class == OrderClass.OCO and len(oco.legs or []) >= 1
    oto = await bot(submit, LimitOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
        limit_price=95, order_class=OrderClass.OTO, stop_loss=StopLossRequest(stop_price=85)))
    assert oto.status == OrderStatus.NEW and [leg.status for leg in oto.legs or []] == [
        OrderStatus.HELD]
    nested = await bot(bot.client.get_orders, GetOrdersRequest(status=QueryOrderStatus.OPEN,
                                                               nested=True))
    assert oto.id in {o.id for o in nested}
    assert all(o.legs is not None for o in nested if o.order_class != OrderClass.SIMPLE)


async def test_orders_are_replaced_cancelled_and_filtered(bot: Bot):
    submit = bot.client.submit_order
    first = await bot(submit, LimitOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                                time_in_force=TimeInForce.GTC, limit_price=90))
    replaced = await bot(bot.client.replace_order_by_id, first.id,
                         ReplaceOrderRequest(qty=2, limit_price=91))
    assert (replaced.replaces, replaced.qty, replaced.limit_price) == (first.id, "2", "91")
    old = await bot(bot.client.get_order_by_id, first.id)
    assert (old.status, old.replaced_by) == (OrderStatus.REPLACED, replaced.id)
    await bot(bot.client.cancel_order_by_id, replaced.id)
    assert (await bot(bot.client.get_order_by_id, replaced.id)).status == OrderStatus.CANCELED
    again = await fails(bot, bot.client.cancel_order_by_id, replaced.id)
    assert (again.status_code, again.code) == (422, 42210000)
    for price in (80, 81):
        await bot(submit, LimitOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                            time_in_force=TimeInForce.GTC, limit_price=price))
    await bot(submit, MarketOrderRequest(symbol="BTCUSDT", qty=0.01, side=OrderSide.BUY,
                                         time_in_force=TimeInForce.GTC))
    get = bot.client.get_orders
    open_ = await bot(get, GetOrdersRequest(status=QueryOrderStatus.OPEN))
    assert [o.limit_price for o in open_] == ["81", "80"]
    oldest = await bot(get, GetOrdersRequest(status=QueryOrderStatus.OPEN, direction="asc",
                                             limit=1))
    assert [o.limit_price for o in oldest] == ["80"]
    closed = await bot(get, GetOrdersRequest(status=QueryOrderStatus.CLOSED))
    assert {o.status for o in closed} == {OrderStatus.FILLED, OrderStatus.CANCELED,
                                          OrderStatus.REPLACED}
    crypto = await bot(get, GetOrdersRequest(status=QueryOrderStatus.ALL, symbols=["BTC/USD"]))
    assert [o.symbol for o in crypto] == ["BTCUSDT"]
    trailing = await bot(submit, TrailingStopOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC,
        trail_price=4))
    wider = await bot(bot.client.replace_order_by_id, trailing.id, ReplaceOrderRequest(trail=6))
    assert (wider.trail_price, wider.stop_price, wider.replaces) == ("6", "94", trailing.id)
    cancelled = await bot(bot.client.cancel_orders)
    assert sorted(c.status for c in cancelled) == [200, 200, 200]
    assert await bot(get, GetOrdersRequest(status=QueryOrderStatus.OPEN)) == []


async def test_an_order_beyond_buying_power_is_403_and_a_bad_one_422(bot: Bot):
    submit = bot.client.submit_order
    poor = await fails(bot, submit, MarketOrderRequest(
        symbol="AAPL", qty=10_000, side=OrderSide.BUY, time_in_force=TimeInForce.GTC))
    assert (poor.status_code, poor.code) == (403, 40310000)
    rejected = await bot(bot.client.get_order_by_id, json.loads(poor._error)["order_id"])
    assert rejected.status == OrderStatus.REJECTED  # named by its /v2 id
    unknown = await fails(bot, submit, MarketOrderRequest(
        symbol="NOPE", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC))
    assert (unknown.status_code, unknown.code) == (422, 42210000)
    extended = await fails(bot, submit, LimitOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
        limit_price=90, extended_hours=True))
    assert extended.status_code == 422 and "does not support" in extended.message
    missing = await fails(bot, bot.client.get_order_by_id, "00000000-0000-0000-0000-000000000000")
    assert (missing.status_code, missing.code) == (404, 40410000)


# -- positions --

async def test_positions_are_listed_and_closed_in_part_and_whole(bot: Bot):
    submit = bot.client.submit_order
    await bot(submit, MarketOrderRequest(symbol="AAPL", qty=10, side=OrderSide.BUY,
                                         time_in_force=TimeInForce.GTC))
    await bot(submit, MarketOrderRequest(symbol="BTCUSDT", qty=0.1, side=OrderSide.BUY,
                                         time_in_force=TimeInForce.GTC))
    set_price(bot.api, "AAPL", "110")
    positions = await bot(bot.client.get_all_positions)
    assert [(p.symbol, p.qty, p.side) for p in positions] == [("AAPL", "10", "long"),
                                                            ("BTCUSDT", "0.1", "long")]
    aapl = await bot(bot.client.get_open_position, "AAPL")
    assert (aapl.avg_entry_price, aapl.current_price, aapl.unrealized_pl, aapl.cost_basis) == (
        "100", "110", "100", "1000")
    assert (await bot(bot.client.get_open_position, str(aapl.asset_id))).qty == "10"
    part = await bot(bot.client.close_position, "AAPL", ClosePositionRequest(qty="4"))
    assert (part.side, part.filled_qty) == (OrderSide.SELL, "4")
    half = await bot(bot.client.close_position, "AAPL", ClosePositionRequest(percentage="50"))
    assert half.filled_qty == "3"
    await bot(submit, LimitOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                        time_in_force=TimeInForce.GTC, limit_price=50))
    closed = await bot(bot.client.close_all_positions, True)
    assert sorted((c.symbol, c.status) for c in closed) == [("AAPL", 200), ("BTCUSDT", 200)]
    assert await bot(bot.client.get_all_positions) == []
    assert await bot(bot.client.get_orders) == []
    gone = await fails(bot, bot.client.get_open_position, "AAPL")
    assert (gone.status_code, gone.code) == (404, 40410000)
    account = await bot(bot.client.get_account)
    assert account.cash == account.equity == "100100"  # 10 AAPL bought at 100, sold at 110


async def test_a_short_position_is_negative_and_a_buy_closes_it(bot: Bot):
    await bot(bot.client.submit_order, MarketOrderRequest(
        symbol="AAPL", qty=5, side=OrderSide.SELL, time_in_force=TimeInForce.GTC))
    set_price(bot.api, "AAPL", "90")
    short = await bot(bot.client.get_open_position, "AAPL")
    assert (short.side, short.qty, short.market_value, short.unrealized_pl) == (
        "short", "-5", "-450", "50")
    closing = await bot(bot.client.close_position, "AAPL")
    assert (closing.side, closing.filled_qty) == (OrderSide.BUY, "5")
    assert await bot(bot.client.get_all_positions) == []


# -- activities and portfolio history --

async def test_activities_and_portfolio_history_parse_as_alpacas(bot: Bot):
    await bot(bot.client.submit_order, MarketOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC))
    await bot(bot.client.close_position, "AAPL")
    raw = await bot(bot.client.get, "/account/activities")
    activities = [TradeActivity(**a) if a["activity_type"] == "FILL" else NonTradeActivity(**a)
                  for a in raw]
    kinds = [a.activity_type for a in activities]
    assert kinds.count(ActivityType.FILL) >= 2 and kinds[-1] == ActivityType.CSD
    fills = await bot(bot.client.get, "/account/activities/FILL")
    assert {a["activity_type"] for a in fills} == {"FILL"}
    first = await bot(bot.client.get, "/account/activities", {"page_size": 1})
    following = await bot(bot.client.get, "/account/activities",
                          {"page_size": 1, "page_token": first[0]["id"]})
    assert following[0]["id"] == raw[1]["id"]
    assert await bot(bot.client.get, "/account/activities/DIV") == []
    today = raw[0]["transaction_time"][:10]
    on_the_day = await bot(bot.client.get, "/account/activities", {"date": today})
    assert [a["id"] for a in on_the_day] == [a["id"] for a in raw]
    oldest_first = await bot(bot.client.get, "/account/activities", {"direction": "asc"})
    assert [a["id"] for a in oldest_first] == [a["id"] for a in reversed(raw)]
    assert await bot(bot.client.get, "/account/activities",
                     {"after": raw[0]["transaction_time"]}) == []
    history = await bot(bot.client.get_portfolio_history,
                        GetPortfolioHistoryRequest(period="1D", timeframe="1H"))
    assert isinstance(history, PortfolioHistory) and history.timeframe == "1H"
    assert history.base_value == 100000 and history.equity[-1] == 100000


# -- watchlists --

async def test_the_watchlist_is_created_changed_and_deleted(bot: Bot):
    client = bot.client
    assert await bot(client.get_watchlists) == []
    created = await bot(client.create_watchlist,
                        CreateWatchlistRequest(name="Tech", symbols=["AAPL"]))
    assert (created.name, [a.symbol for a in created.assets or []]) == ("Tech", ["AAPL"])
    second = await fails(bot, client.create_watchlist,
                         CreateWatchlistRequest(name="More", symbols=[]))
    assert second.status_code == 422 and "one watchlist" in second.message
    added = await bot(client.add_asset_to_watchlist_by_id, created.id, "BTC/USD")
    assert [a.symbol for a in added.assets or []] == ["AAPL", "BTCUSDT"]
    renamed = await bot(client.update_watchlist_by_id, created.id,
                        UpdateWatchlistRequest(name="All", symbols=["BTCUSDT"]))
    assert (renamed.name, [a.symbol for a in renamed.assets or []]) == ("All", ["BTCUSDT"])
    removed = await bot(client.remove_asset_from_watchlist_by_id, created.id, "BTCUSDT")
    assert removed.assets == []
    assert [w.name for w in await bot(client.get_watchlists)] == ["All"]
    status, by_name = await bot.raw("GET", "/v2/watchlists:by_name?name=All")
    assert status == 200 and by_name["id"] == str(created.id)
    assert (await bot.raw("GET", "/v2/watchlists:by_name?name=Tech"))[0] == 404
    await bot(client.delete_watchlist_by_id, created.id)
    assert await bot(client.get_watchlists) == []
    other = await fails(bot, client.get_watchlist_by_id, created.id)
    assert (other.status_code, other.code) == (404, 40410000)
