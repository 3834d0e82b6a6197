"""Alpaca's Trading API v2 (/v2) errors: its 401, 403, 404, 405, 422 and 429 in Alpaca's
shape, unsupported features told as such, and hostile input answered 4xx, never 5xx."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest

from tests.e2e.alpaca_support import Bot, bot_of, fails
from tests.hostile_bodies import HOSTILE
from tests.support import Api


@pytest.fixture
async def bot(api: Api) -> Bot:
    return await bot_of(api)


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
    assert body["message"].startswith("PaperDesk does not support ")


async def test_another_users_order_is_not_found(api: Api):
    ann, bob = await bot_of(api), await bot_of(api, email="bob@example.com")
    placed = await ann(ann.client.submit_order, LimitOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
        limit_price=90))
    for method in (bob.client.get_order_by_id, bob.client.cancel_order_by_id):
        missing = await fails(bob, method, placed.id)
        assert (missing.status_code, missing.code) == (404, 40410000)
    assert (await ann(ann.client.get_order_by_id, placed.id)).status == "new"


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
    ("by client order id without one", "GET", "/v2/orders:by_client_order_id", None),
    ("by client order id huge", "GET",
     "/v2/orders:by_client_order_id?client_order_id=" + "x" * 500, None),
    ("orders after not a time", "GET", "/v2/orders?after=yesterday", None),
    ("orders symbols too many", "GET", "/v2/orders?symbols=" + ",".join(["AAPL"] * 200), None),
    ("positions qty non-numeric", "DELETE", "/v2/positions/AAPL?qty=all", None),
    ("positions percentage over 100", "DELETE", "/v2/positions/AAPL?percentage=150", None),
    ("activities type unknown", "GET", "/v2/account/activities/NOPE", None),
    ("activities page_token forged", "GET", "/v2/account/activities?page_token=x::y", None),
    ("activities page_token of a forged exit", "GET",
     "/v2/account/activities?page_token=20260101000000000::exit:abc", None),
    ("activities page_token of a forged exit number", "GET",
     "/v2/account/activities?page_token=20260101000000000::exit:abc:%D9%A1", None),
    ("activities page_token of a far time", "GET",
     "/v2/account/activities?page_token=99991399000000000::order:abc", None),
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


# Every query parameter of every /v2 route, each given every hostile value.
QUERIES = [
    ("GET", "/v2/orders",
     ("status", "limit", "after", "until", "direction", "nested", "symbols", "side")),
    ("GET", "/v2/orders:by_client_order_id", ("client_order_id",)),
    ("DELETE", "/v2/positions/AAPL", ("qty", "percentage")),
    ("DELETE", "/v2/positions", ("cancel_orders",)),
    ("GET", "/v2/assets", ("status", "asset_class", "exchange")),
    ("GET", "/v2/calendar", ("start", "end")),
    ("GET", "/v2/account/activities",
     ("activity_types", "date", "until", "after", "direction", "page_size", "page_token")),
    ("GET", "/v2/account/portfolio/history",
     ("period", "timeframe", "date_end", "extended_hours")),
    ("GET", "/v2/watchlists:by_name", ("name",)),
]
QUERY_VALUES = [
    "1e999990", "-1", "NaN", "%EF%BC%91", "x" * 5000, "%00", "%ED%A0%80", "", "true,false",
    "[]", "%7B%7D", "99999999999999999999999", "0", "2026-13-45", "9999-12-31", "0001-01-01",
    "2026-01-01T25:00:00Z", "%E2%80%AE", ",,,", "FILL,,", "..::..",
    "20260101000000000::transfer:", "20260101000000000::exit:a:1",
]


@pytest.mark.parametrize(("method", "path", "names"), QUERIES, ids=[q[1] for q in QUERIES])
async def test_no_hostile_query_parameter_is_a_server_error(bot: Bot, method: str, path: str,
                                                            names: tuple[str, ...]):
    failures = []
    for name in names:
        for value in QUERY_VALUES:
            status, answer = await bot.raw(method, f"{path}?{name}={value}")
            if status >= 500 or (status >= 400 and set(answer) < {"code", "message"}):
                failures.append((name, value[:20], status, answer))
    assert failures == []


async def test_no_hostile_body_field_is_a_server_error(bot: Bot):
    """Each field of each /v2 body, given each of the project's hostile values."""
    resting = await bot(bot.client.submit_order, LimitOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
        limit_price=90))
    _, watchlist = await bot.raw("POST", "/v2/watchlists", json={"name": "w"})
    bodies = [
        ("POST", "/v2/orders", {"symbol": "AAPL", "qty": "1", "side": "buy", "type": "limit",
                                "time_in_force": "gtc", "limit_price": "50",
                                "order_class": "bracket", "client_order_id": "c1",
                                "take_profit": {"limit_price": "60"},
                                "stop_loss": {"stop_price": "40"}}),
        ("PATCH", f"/v2/orders/{resting.id}", {"qty": "2", "limit_price": "89",
                                               "time_in_force": "day", "trail": "1",
                                               "client_order_id": "c2"}),
        ("PATCH", "/v2/account/configurations", {"no_shorting": False, "pdt_check": "entry"}),
        ("PUT", f"/v2/watchlists/{watchlist['id']}", {"name": "w", "symbols": ["AAPL"]}),
        ("POST", f"/v2/watchlists/{watchlist['id']}", {"symbol": "AAPL"}),
    ]
    failures = []
    for method, path, body in bodies:
        for name in body:
            for value in HOSTILE:
                status, answer = await bot.raw(method, path, json={**body, name: value})
                if status >= 500 or (status >= 400 and set(answer) < {"code", "message"}):
                    failures.append((method, path, name, repr(value)[:20], status, answer))
    assert failures == []


PATH_VALUES = ["%00", "x" * 3000, "%ED%A0%80", "%E2%80%AEAAPL",
               "00000000-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "00000000-0000-0000-0000-000000000000",
               "0" * 36, "BTC/USD", "A/BBBBB", "%EF%BC%A1%EF%BC%A1%EF%BC%B0%EF%BC%AC", "..",
               "-1", "1e999"]


async def test_no_hostile_path_parameter_is_a_server_error(bot: Bot):
    _, watchlist = await bot.raw("POST", "/v2/watchlists", json={"name": "w"})
    routes = [("GET", "/v2/orders/{}"), ("PATCH", "/v2/orders/{}"), ("DELETE", "/v2/orders/{}"),
              ("GET", "/v2/positions/{}"), ("DELETE", "/v2/positions/{}"),
              ("GET", "/v2/assets/{}"), ("GET", "/v2/account/activities/{}"),
              ("GET", "/v2/watchlists/{}"), ("DELETE", f"/v2/watchlists/{watchlist['id']}/{{}}")]
    failures = []
    for method, path in routes:
        for value in PATH_VALUES:
            body = {"qty": "1"} if method == "PATCH" else None
            status, answer = await bot.raw(method, path.format(value), json=body)
            if status >= 500 or (status >= 400 and set(answer) < {"code", "message"}):
                failures.append((method, path, value[:20], status, answer))
    assert failures == []
