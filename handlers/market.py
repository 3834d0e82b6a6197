"""REST: symbols, quotes, candles (public) and the user's watchlist."""

from __future__ import annotations

from aiohttp import web

from feeds.hub import candle_payload
from handlers import keys
from handlers.candle_params import candle_query, next_cursor
from handlers.common import authenticated, json_ok
from handlers.validation import read_json, string
from trading.errors import InvalidInput
from trading.market import symbol_key, validate_symbols

routes = web.RouteTableDef()


@routes.get("/api/v1/market/symbols")
async def symbols(request: web.Request) -> web.Response:
    hub = request.app[keys.MARKET].hub
    return json_ok({"symbols": [hub.view(symbol) for symbol in hub.universe.instruments]})


@routes.get("/api/v1/market/quotes/{symbol}")
async def quote(request: web.Request) -> web.Response:
    hub = request.app[keys.MARKET].hub
    return json_ok(hub.view(hub.universe.resolve(request.match_info["symbol"])))


@routes.get("/api/v1/market/candles/{symbol}")
async def candles(request: web.Request) -> web.Response:
    """A page of candles, oldest first (handlers/candle_params.py: the query)."""
    market = request.app[keys.MARKET]
    symbol = market.universe.resolve(request.match_info["symbol"])
    query = candle_query(request, symbol)
    page, more = await market.candles.page(symbol, query.timeframe, query.low, query.high,
                                           query.limit, query.forward)
    last = page[-1 if query.forward else 0].start if page else None
    return json_ok({"symbol": symbol, "timeframe": query.timeframe, "interval": query.timeframe,
                    "candles": [candle_payload(candle) for candle in page],
                    "next_cursor": next_cursor(symbol, query, last)
                    if more and last is not None else None})


async def _watchlist_view(request: web.Request, user_id: str) -> web.Response:
    hub = request.app[keys.MARKET].hub
    stored = await request.app[keys.STORE].watchlists.get(user_id)
    listed = [symbol for symbol in stored if symbol in hub.universe]
    return json_ok({"symbols": listed, "quotes": [hub.view(symbol) for symbol in listed]})


@routes.get("/api/v1/watchlist")
async def get_watchlist(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    return await _watchlist_view(request, principal.user_id)


@routes.put("/api/v1/watchlist")
async def put_watchlist(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    body = await read_json(request)
    limit = request.app[keys.SETTINGS].market.watchlist_limit
    wanted = validate_symbols(request.app[keys.MARKET].universe, body.get("symbols"), limit)
    await request.app[keys.STORE].watchlists.replace(principal.user_id, wanted,
                                                     request.app[keys.CLOCK]())
    return await _watchlist_view(request, principal.user_id)


@routes.post("/api/v1/watchlist")
async def add_to_watchlist(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    body = await read_json(request)
    limit = request.app[keys.SETTINGS].market.watchlist_limit
    [symbol] = validate_symbols(request.app[keys.MARKET].universe, [string(body, "symbol")], 1)
    added = await request.app[keys.STORE].watchlists.add(principal.user_id, symbol, limit,
                                                         request.app[keys.CLOCK]())
    if not added:
        raise InvalidInput(f"A watchlist holds at most {limit} symbols.", field="symbol",
                           details={"limit": limit})
    return await _watchlist_view(request, principal.user_id)


@routes.delete("/api/v1/watchlist/{symbol}")
async def remove_from_watchlist(request: web.Request) -> web.Response:
    """Remove a symbol, even one no longer configured (matched by any spelling)."""
    principal = await authenticated(request)
    watchlists = request.app[keys.STORE].watchlists
    key = symbol_key(request.match_info["symbol"])
    for symbol in await watchlists.get(principal.user_id):
        if symbol_key(symbol) == key:
            await watchlists.remove(principal.user_id, symbol, request.app[keys.CLOCK]())
    return await _watchlist_view(request, principal.user_id)
