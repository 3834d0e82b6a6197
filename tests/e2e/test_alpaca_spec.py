"""Every /v2 Trading API route the server has, called on a real server, answers bodies
in Alpaca's shapes, and its refusals in Alpaca's error shape.

The shapes are alpaca-py's (Alpaca's own SDK, pinned in requirements-dev.txt): each
route's response model as pydantic's JSON Schema, checked with jsonschema, stricter
than the SDK's parsing in two ways: every field the model declares must be there (null
where there is no value, as Alpaca sends them; but the local currency accounts' own),
and formats (uuid, date, date-time) are checked. Numbers may come as numeric strings,
as pydantic (so the SDK) takes them and as Alpaca sends its decimals. Alpaca's OpenAPI
description of the Trading API is not shipped with the suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import FunctionType
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
from alpaca.trading.models import (
    AccountConfiguration,
    Asset,
    Calendar,
    ClosePositionResponse,
    NonTradeActivity,
    Order,
    PortfolioHistory,
    Position,
    TradeAccount,
    TradeActivity,
    Watchlist,
)
from alpaca.trading.models import Clock as AlpacaClock
from alpaca.trading.requests import CancelOrderResponse
from pydantic import TypeAdapter

from tests.e2e.alpaca_support import bot_of
from tests.e2e.test_api_keys import pair
from tests.support import Api

# The routes checked: (method, path as the router names it).
ROUTES = {
    ("GET", "/v2/account"),
    ("GET", "/v2/account/configurations"),
    ("PATCH", "/v2/account/configurations"),
    ("POST", "/v2/orders"),
    ("GET", "/v2/orders"),
    ("DELETE", "/v2/orders"),
    ("GET", "/v2/orders/{order_id}"),
    ("PATCH", "/v2/orders/{order_id}"),
    ("DELETE", "/v2/orders/{order_id}"),
    ("GET", "/v2/orders:by_client_order_id"),
    ("GET", "/v2/positions"),
    ("DELETE", "/v2/positions"),
    ("GET", "/v2/positions/{symbol}"),
    ("DELETE", "/v2/positions/{symbol}"),
    ("GET", "/v2/assets"),
    ("GET", "/v2/assets/{symbol}"),
    ("GET", "/v2/clock"),
    ("GET", "/v2/calendar"),
    ("GET", "/v2/account/activities"),
    ("GET", "/v2/account/activities/{activity_type}"),
    ("GET", "/v2/account/portfolio/history"),
    ("GET", "/v2/watchlists"),
    ("POST", "/v2/watchlists"),
    ("GET", "/v2/watchlists/{watchlist_id}"),
    ("PUT", "/v2/watchlists/{watchlist_id}"),
    ("POST", "/v2/watchlists/{watchlist_id}"),
    ("DELETE", "/v2/watchlists/{watchlist_id}/{symbol}"),
    ("DELETE", "/v2/watchlists/{watchlist_id}"),
    ("GET", "/v2/watchlists:by_name"),
    ("PUT", "/v2/watchlists:by_name"),
    ("POST", "/v2/watchlists:by_name"),
    ("DELETE", "/v2/watchlists:by_name"),
}


# Position fields of Alpaca's local currency accounts, sent only to those.
LOCAL_CURRENCY_ONLY = {"swap_rate", "avg_entry_swap_rate", "usd"}
# pydantic (so the SDK) parses a numeric string as a float or an int, and Alpaca sends
# its decimals as strings where the SDK's models say float.
NUMERIC = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
INTEGER = {"type": "string", "pattern": r"^-?[0-9]+$"}


def strict(node: Any) -> Any:
    """The schema with every property an object declares required (but the local
    currency ones), and numbers that may come as numeric strings."""
    if isinstance(node, dict):
        node = {key: strict(value) for key, value in node.items()}
        if isinstance(node.get("properties"), dict):
            node["required"] = sorted(set(node["properties"]) - LOCAL_CURRENCY_ONLY)
        if node.get("type") in ("number", "integer"):
            kind = node.pop("type")
            return {"anyOf": [{"type": kind}, NUMERIC if kind == "number" else INTEGER], **node}
        return node
    if isinstance(node, list):
        return [strict(value) for value in node]
    return node


def schema(shape: Any) -> dict[str, Any]:
    """A type of alpaca-py's models as a JSON Schema with every field required."""
    return strict(TypeAdapter(shape).json_schema())


def calendar() -> dict[str, Any]:
    """Alpaca's calendar days: the SDK's Calendar takes open and close as HH:MM on the
    wire (its __init__ joins them to the date), which its schema does not say."""
    day = schema(Calendar)
    for name in ("open", "close"):
        day["properties"][name] = {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}
    return {"type": "array", "items": day}


ERROR = {"type": "object", "required": ["code", "message"],
         "properties": {"code": {"type": "integer", "minimum": 10000000},
                        "message": {"type": "string", "minLength": 1}}}


def activities(body: Any) -> None:
    """Alpaca's activities: a fill is a TradeActivity, anything else a NonTradeActivity."""
    assert isinstance(body, list) and body, body
    for item in body:
        validate(item, schema(TradeActivity if item.get("activity_type") == "FILL"
                              else NonTradeActivity))


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def is_date_time(text: object) -> bool:
    """RFC 3339 with its offset (jsonschema checks date-time only with an extra package)."""
    if not isinstance(text, str):
        return True
    return datetime.fromisoformat(text.replace("Z", "+00:00")).tzinfo is not None


def validate(body: Any, shape: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(shape, format_checker=FORMATS).validate(body)


@dataclass
class V2:
    """Calls /v2 routes with a key pair, checking each answer's status and body."""

    api: Api
    headers: dict[str, str]
    called: set[tuple[str, str]] = field(default_factory=set)

    async def __call__(self, method: str, route: str, shape: Any, *, status: int = 200,
                       params: dict[str, str] | None = None, body: Any = None,
                       **path: str) -> Any:
        url = route.format(**{name: quote(value, safe="") for name, value in path.items()})
        got, answer = await self.api.call(method, url, body, headers=self.headers,
                                          params=params or {})
        assert got == status, (method, url, got, answer)
        if isinstance(shape, FunctionType):  # a check of its own
            shape(answer)
        elif shape is None:
            assert answer is None, (method, url, answer)
        else:
            validate(answer, shape if isinstance(shape, dict) else schema(shape))
        self.called.add((method, route))
        return answer


async def trader(api: Api) -> V2:
    """A new user's key (AAPL priced at 100, BTCUSDT at 65,000) calling /v2."""
    return V2(api, pair((await bot_of(api)).key))


async def test_every_v2_route_answers_the_shape_of_alpacas_models(api):
    v2 = await trader(api)
    await v2("GET", "/v2/account", TradeAccount)
    await v2("GET", "/v2/account/configurations", AccountConfiguration)
    # PaperDesk's configuration is the server's: sent back unchanged, it is taken.
    configuration = await v2("GET", "/v2/account/configurations", AccountConfiguration)
    await v2("PATCH", "/v2/account/configurations", AccountConfiguration, body=configuration)

    await orders(v2)
    await positions(v2)

    await v2("GET", "/v2/assets", list[Asset])
    await v2("GET", "/v2/assets/{symbol}", Asset, symbol="AAPL")
    await v2("GET", "/v2/clock", AlpacaClock)
    today = date.today()
    await v2("GET", "/v2/calendar", calendar(),
             params={"start": str(today), "end": str(today + timedelta(days=14))})
    await v2("GET", "/v2/account/activities", activities)
    await v2("GET", "/v2/account/activities/{activity_type}", list[TradeActivity],
             activity_type="FILL")
    await v2("GET", "/v2/account/portfolio/history", PortfolioHistory)

    await watchlists(v2)
    assert v2.called == ROUTES, ROUTES ^ v2.called


async def orders(v2: V2) -> None:
    await v2("POST", "/v2/orders", Order, body={
        "symbol": "AAPL", "qty": "3", "side": "buy", "type": "market", "time_in_force": "day"})
    resting = await v2("POST", "/v2/orders", Order, body={
        "symbol": "AAPL", "qty": "1", "side": "buy", "type": "limit", "limit_price": "50",
        "time_in_force": "gtc", "client_order_id": "spec-limit"})
    await v2("POST", "/v2/orders", Order, body={
        "symbol": "AAPL", "qty": "1", "side": "buy", "type": "market", "time_in_force": "gtc",
        "order_class": "bracket", "take_profit": {"limit_price": "120"},
        "stop_loss": {"stop_price": "80"}})
    await v2("POST", "/v2/orders", Order, body={
        "symbol": "AAPL", "qty": "1", "side": "buy", "type": "limit", "limit_price": "60",
        "time_in_force": "gtc", "order_class": "oto", "stop_loss": {"stop_price": "50"}})
    await v2("POST", "/v2/orders", Order, body={
        "symbol": "AAPL", "qty": "1", "side": "sell", "type": "limit", "time_in_force": "gtc",
        "order_class": "oco", "take_profit": {"limit_price": "120"},
        "stop_loss": {"stop_price": "80", "limit_price": "79"}})
    await v2("POST", "/v2/orders", Order, body={
        "symbol": "AAPL", "qty": "1", "side": "buy", "type": "stop_limit", "stop_price": "110",
        "limit_price": "111", "time_in_force": "day"})
    trailing = await v2("POST", "/v2/orders", Order, body={
        "symbol": "BTC/USD", "qty": "0.01", "side": "buy", "type": "trailing_stop",
        "trail_percent": "5", "time_in_force": "gtc"})
    assert (trailing["symbol"], trailing["hwm"]) == ("BTCUSDT", "65000"), trailing
    await v2("GET", "/v2/orders", list[Order], params={"status": "all", "nested": "true"})
    await v2("GET", "/v2/orders", list[Order], params={"status": "open", "symbols": "AAPL"})
    await v2("GET", "/v2/orders/{order_id}", Order, order_id=resting["id"])
    await v2("GET", "/v2/orders:by_client_order_id", Order,
             params={"client_order_id": "spec-limit"})
    replaced = await v2("PATCH", "/v2/orders/{order_id}", Order, order_id=resting["id"],
                        body={"limit_price": "55"})
    await v2("DELETE", "/v2/orders/{order_id}", None, status=204, order_id=replaced["id"])
    await v2("GET", "/v2/orders/{order_id}", Order, order_id=resting["id"])
    await v2("DELETE", "/v2/orders", list[CancelOrderResponse], status=207)


async def positions(v2: V2) -> None:
    await v2("GET", "/v2/positions", list[Position])
    await v2("GET", "/v2/positions/{symbol}", Position, symbol="AAPL")
    await v2("DELETE", "/v2/positions/{symbol}", Order, symbol="AAPL",
             params={"qty": "1"})
    closed = await v2("DELETE", "/v2/positions", list[ClosePositionResponse], status=207,
                      params={"cancel_orders": "true"})
    assert closed and all(item["status"] == 200 for item in closed), closed


async def watchlists(v2: V2) -> None:
    made = await v2("POST", "/v2/watchlists", Watchlist,
                    body={"name": "spec", "symbols": ["AAPL"]})
    await v2("GET", "/v2/watchlists", list[Watchlist])
    await v2("GET", "/v2/watchlists/{watchlist_id}", Watchlist, watchlist_id=made["id"])
    await v2("PUT", "/v2/watchlists/{watchlist_id}", Watchlist, watchlist_id=made["id"],
             body={"name": "spec", "symbols": ["AAPL", "BTCUSDT"]})
    await v2("POST", "/v2/watchlists/{watchlist_id}", Watchlist, watchlist_id=made["id"],
             body={"symbol": "MSFT"})
    await v2("DELETE", "/v2/watchlists/{watchlist_id}/{symbol}", Watchlist,
             watchlist_id=made["id"], symbol="MSFT")
    named = {"name": made["name"]}
    await v2("GET", "/v2/watchlists:by_name", Watchlist, params=named)
    await v2("PUT", "/v2/watchlists:by_name", Watchlist, params=named,
             body={"name": made["name"], "symbols": ["AAPL"]})
    await v2("POST", "/v2/watchlists:by_name", Watchlist, params=named, body={"symbol": "MSFT"})
    await v2("DELETE", "/v2/watchlists:by_name", None, status=204, params=named)
    await v2("POST", "/v2/watchlists", Watchlist, body={"name": "again"})
    mine = await v2("GET", "/v2/watchlists", list[Watchlist])
    await v2("DELETE", "/v2/watchlists/{watchlist_id}", None, status=204,
             watchlist_id=mine[0]["id"])


# Alpaca's Market Data API (its REST routes and its stream) shares the /v2 prefix.
MARKET_DATA = {"handlers.alpaca.data", "handlers.alpaca.data_stream"}


def trading_routes(api: Api) -> set[tuple[str, str]]:
    """The Trading API routes the server registers: every /v2 route but market data's."""
    found = set()
    for route in api.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/v2/") and route.method not in ("HEAD", "OPTIONS") \
                and route.handler.__module__ not in MARKET_DATA:
            found.add((route.method, path))
    return found


async def test_the_check_covers_every_trading_route_the_server_registers(api):
    assert trading_routes(api) == ROUTES, trading_routes(api) ^ ROUTES


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v2/orders/00000000-0000-0000-0000-000000000000"),
    ("GET", "/v2/positions/NOSUCH"),
    ("GET", "/v2/assets/NOSUCH"),
    ("POST", "/v2/orders"),
])
async def test_refusals_have_alpacas_error_shape(api, method, path):
    v2 = await trader(api)
    got, answer = await api.call(method, path, {} if method == "POST" else None,
                                 headers=v2.headers)
    assert 400 <= got < 500, (got, answer)
    validate(answer, ERROR)


async def test_a_missing_key_is_refused_in_alpacas_shape(api):
    got, answer = await api.call("GET", "/v2/account")
    assert got == 401
    validate(answer, ERROR)
    assert answer["code"] == 40110000
