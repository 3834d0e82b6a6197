"""Alpaca's Trading API v2 (/v2): alpaca-py's TradingClient runs unchanged against a
PaperDesk server, every answer parsed by the SDK's own models."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, TypeVar
from uuid import UUID

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
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
from tests.e2e.trading_support import priced_trader, set_price
from tests.support import Api

T = TypeVar("T")
KEYS = "/api/v1/me/api-keys"


class Bot:
    """A TradingClient with a new user's API key, each call run off the event loop."""

    def __init__(self, api: Api, key: dict[str, Any]) -> None:
        self.api, self.key = api, key
        self.client = TradingClient(key["key_id"], key["secret"], paper=True,
                                    url_override=api.url.rstrip("/"))

    async def __call__(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(method, *args, **kwargs)

    async def raw(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """A /v2 call through aiohttp with the key's headers (status, JSON or None)."""
        headers = {"APCA-API-KEY-ID": self.key["key_id"],
                   "APCA-API-SECRET-KEY": self.key["secret"], **kwargs.pop("headers", {})}
        return await self.api.call(method, path, headers=headers, **kwargs)


async def bot_of(api: Api, scope: str = "trading", email: str = "ann@example.com") -> Bot:
    token = (await priced_trader(api) if email == "ann@example.com"
             else str((await api.account(email=email))["access_token"]))
    status, key = await api.call("POST", KEYS, {"name": "bot", "scope": scope}, token=token)
    assert status == 201, key
    return Bot(api, key)


@pytest.fixture
async def bot(api: Api) -> Bot:
    return await bot_of(api)


async def fails(bot: Bot, method: Callable[..., Any], *args: Any) -> APIError:
    with pytest.raises(APIError) as raised:
        await bot(method, *args)
    return raised.value


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
    cancelled = await bot(bot.client.cancel_orders)
    assert sorted(c.status for c in cancelled) == [200, 200]
    assert await bot(get, GetOrdersRequest(status=QueryOrderStatus.OPEN)) == []


async def test_an_order_beyond_buying_power_is_403_and_a_bad_one_422(bot: Bot):
    submit = bot.client.submit_order
    poor = await fails(bot, submit, MarketOrderRequest(
        symbol="AAPL", qty=10_000, side=OrderSide.BUY, time_in_force=TimeInForce.GTC))
    assert (poor.status_code, poor.code) == (403, 40310000)
    unknown = await fails(bot, submit, MarketOrderRequest(
        symbol="NOPE", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC))
    assert (unknown.status_code, unknown.code) == (422, 42210000)
    extended = await fails(bot, submit, LimitOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
        limit_price=90, extended_hours=True))
    assert extended.status_code == 422 and "not supported" in extended.message
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
    await bot(client.delete_watchlist_by_id, created.id)
    assert await bot(client.get_watchlists) == []
    other = await fails(bot, client.get_watchlist_by_id, created.id)
    assert (other.status_code, other.code) == (404, 40410000)


# -- auth, scopes, limits, unsupported routes --

async def test_without_credentials_or_with_wrong_ones_it_is_alpacas_401(api: Api):
    status, body = await api.call("GET", "/v2/account")
    assert (status, body["code"]) == (401, 40110000) and body["message"]
    wrong = {"APCA-API-KEY-ID": "PKNOTAKEY", "APCA-API-SECRET-KEY": "nope"}
    status, body = await api.call("GET", "/v2/orders", headers=wrong)
    assert (status, body["code"]) == (401, 40110000)
    client = TradingClient("PKNOTAKEY", "nope", paper=True, url_override=api.url.rstrip("/"))
    with pytest.raises(APIError) as raised:
        await asyncio.to_thread(client.get_account)
    assert (raised.value.status_code, raised.value.code) == (401, 40110000)


async def test_a_read_key_reads_but_cannot_trade_and_a_bearer_key_works(api: Api):
    reader = await bot_of(api, scope="read")
    assert (await reader(reader.client.get_account)).status == "ACTIVE"
    refused = await fails(reader, reader.client.submit_order, MarketOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC))
    assert (refused.status_code, refused.code) == (403, 40310000)
    status, orders = await api.call("GET", "/v2/orders", token=reader.key["token"])
    assert (status, orders) == (200, [])


async def test_the_per_user_rate_limit_is_alpacas_429_with_its_headers(servers, settings):
    limited = replace(settings, limits=replace(settings.limits, user_per_minute=3))
    api = await servers.start(limited)
    bot = await bot_of(api)
    statuses = [(await bot.raw("GET", "/v2/clock"))[0] for _ in range(4)]
    assert statuses[-1] == 429
    async with api.client.get("/v2/clock", headers={
            "APCA-API-KEY-ID": bot.key["key_id"],
            "APCA-API-SECRET-KEY": bot.key["secret"]}) as response:
        body = await response.json()
        assert (response.status, body["code"]) == (429, 42910000)
        assert response.headers["X-RateLimit-Limit"] and "Retry-After" in response.headers


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v2/options/contracts"), ("POST", "/v2/wallets/transfers"),
    ("GET", "/v2/wallets"), ("POST", "/v2/account/transfers"),
    ("POST", "/v2/positions/AAPL/exercise"), ("GET", "/v2/corporate_actions/announcements"),
])
async def test_an_unsupported_alpaca_feature_is_a_clear_422(bot: Bot, method: str, path: str):
    status, body = await bot.raw(method, path)
    assert (status, body["code"]) == (422, 42210000)
    assert "not supported by PaperDesk" in body["message"]


async def test_an_unknown_route_or_method_is_alpacas_404_or_405(bot: Bot):
    status, body = await bot.raw("GET", "/v2/nothing-here")
    assert (status, body["code"]) == (404, 40410000)
    status, body = await bot.raw("POST", "/v2/clock")
    assert (status, body["code"]) == (405, 40510000)


# -- hostile input --

HOSTILE_ORDERS: list[tuple[str, Any]] = [
    ("huge qty", {"qty": "1e999990"}), ("huge int qty", {"qty": 10**30}),
    ("negative qty", {"qty": "-5"}), ("zero qty", {"qty": 0}),
    ("non-numeric qty", {"qty": "ten"}), ("NaN qty", {"qty": "NaN"}),
    ("full-width digits", {"qty": "\uff11\uff10"}), ("qty as object", {"qty": {"$gt": ""}}),
    ("qty and notional", {"qty": "1", "notional": "100"}),
    ("unknown side", {"side": "sideways"}), ("unknown type", {"type": "iceberg"}),
    ("unknown time_in_force", {"time_in_force": "cls"}),
    ("unknown order_class", {"order_class": "mleg"}),
    ("non-ASCII symbol", {"symbol": "\uff21\uff21\uff30\uff2c"}),
    ("RTL symbol", {"symbol": "\u202eLPAA"}),
    ("lone surrogate", {"symbol": "x\ud800"}), ("huge symbol", {"symbol": "A" * 100_000}),
    ("symbol as list", {"symbol": ["AAPL"]}), ("deep nesting", {"take_profit": [[[[1]]]] * 2}),
    ("take_profit not an object", {"order_class": "bracket", "take_profit": "120"}),
    ("stop_loss unknown field", {"order_class": "oto", "stop_loss": {"stop": 1}}),
    ("extended_hours as text", {"extended_hours": "maybe"}),
    ("position_intent unknown", {"position_intent": "hold"}),
    ("client_order_id too long", {"client_order_id": "x" * 200}),
    ("limit_price negative", {"type": "limit", "limit_price": "-1"}),
    ("trail_percent huge", {"type": "trailing_stop", "trail_percent": 1e20}),
]


@pytest.mark.parametrize(("label", "change"), HOSTILE_ORDERS,
                         ids=[label for label, _ in HOSTILE_ORDERS])
async def test_a_hostile_order_field_is_an_alpaca_4xx(bot: Bot, label: str, change: Any):
    body = {"symbol": "AAPL", "qty": "1", "side": "buy", "type": "market",
            "time_in_force": "gtc", **change}
    status, answer = await bot.raw("POST", "/v2/orders", json=body)
    assert 400 <= status < 500, (label, status, answer)
    assert set(answer) >= {"code", "message"} and answer["code"] == status * 100_000 + 10_000


DEEP = "[" * 100_000 + "]" * 100_000
HOSTILE_REQUESTS: list[tuple[str, str, str, Any]] = [
    ("bad JSON", "POST", "/v2/orders", "{not json"),
    ("deeply nested JSON", "POST", "/v2/orders", DEEP),
    ("a list body", "POST", "/v2/orders", "[1, 2]"),
    ("replace with bad qty", "PATCH", "/v2/orders/00000000-0000-0000-0000-000000000000",
     '{"qty": "lots"}'),
    ("configuration of a wrong type", "PATCH", "/v2/account/configurations",
     '{"no_shorting": {"deep": [1]}}'),
    ("watchlist name huge", "POST", "/v2/watchlists", '{"name": "' + "x" * 5000 + '"}'),
    ("watchlist symbols wrong type", "POST", "/v2/watchlists",
     '{"name": "a", "symbols": "AAPL"}'),
    ("watchlist symbol non-ASCII", "POST", "/v2/watchlists",
     '{"name": "a", "symbols": ["\\u0628\\u062a\\u0643"]}'),
    ("orders limit huge", "GET", "/v2/orders?limit=99999999999999999999999", None),
    ("orders status unknown", "GET", "/v2/orders?status=sleeping", None),
    ("orders after not a time", "GET", "/v2/orders?after=yesterday", None),
    ("orders symbols too many", "GET", "/v2/orders?symbols=" + ",".join(["AAPL"] * 200), None),
    ("positions qty non-numeric", "DELETE", "/v2/positions/AAPL?qty=all", None),
    ("positions percentage over 100", "DELETE", "/v2/positions/AAPL?percentage=150", None),
    ("activities type unknown", "GET", "/v2/account/activities/NOPE", None),
    ("activities page_token forged", "GET", "/v2/account/activities?page_token=x::y", None),
    ("activities page_size negative", "GET", "/v2/account/activities?page_size=-1", None),
    ("history period unknown", "GET", "/v2/account/portfolio/history?period=7Y", None),
    ("calendar start not a date", "GET", "/v2/calendar?start=%F0%9F%92%A5", None),
    ("assets class unknown", "GET", "/v2/assets?asset_class=bonds", None),
    ("position of a non-ASCII symbol", "GET", "/v2/positions/%E2%80%AEAAPL", None),
    ("order id not a uuid", "GET", "/v2/orders/%00%1b", None),
]


@pytest.mark.parametrize(("label", "method", "path", "raw"), HOSTILE_REQUESTS,
                         ids=[label for label, *_ in HOSTILE_REQUESTS])
async def test_a_hostile_request_is_an_alpaca_4xx(bot: Bot, label: str, method: str, path: str,
                                                  raw: str | None):
    headers = {"Content-Type": "application/json"}
    status, answer = await bot.raw(method, path, data=raw, headers=headers)
    assert 400 <= status < 500, (label, status, answer)
    assert set(answer) >= {"code", "message"} and answer["code"] == status * 100_000 + 10_000
