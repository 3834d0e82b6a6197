"""Alpaca's Market Data API (the routes alpaca-py's StockHistoricalDataClient and
CryptoHistoricalDataClient call), over PaperDesk's candles and live prices.

    GET /v2/stocks/bars?symbols=AAPL,MSFT      GET /v2/stocks/{symbol}/bars
    GET /v2/stocks/trades/latest?symbols=      GET /v2/stocks/quotes/latest?symbols=
    GET /v2/stocks/bars/latest?symbols=        GET /v2/stocks/snapshots?symbols=
    GET /v1beta3/crypto/{loc}/bars?symbols=BTC/USD
    GET /v1beta3/crypto/{loc}/latest/trades    .../latest/quotes    .../latest/bars
    GET /v1beta3/crypto/{loc}/snapshots

Bars are the stored candles (what GET /api/v1/market/candles serves): timeframe
1Min, 5Min, 15Min, 1Hour, 4Hour or 1Day (1T, 5T, 15T, 1H, 4H, 1D too); start and
end RFC 3339 or a date (without an offset: UTC), start by default today's 00:00
UTC; limit 1 to 10000 bars over all the symbols (default 1000), sort asc or desc.
A page holds at most 1000 bars: next_page_token leads on (symbol by symbol, in
alphabetical order). Latest trades and quotes are the live price hub's last price
(handlers/alpaca/market_data.py: what a trade and a quote carry). feed, adjustment,
asof and currency are taken and have no effect: there is one feed, and prices are in
the symbol's own currency. Like PaperDesk's
own market data the routes are public; credentials, when sent, are checked and
counted (a wrong key is 401).

Errors are Alpaca's {"code", "message"} (alpaca-py's APIError reads both), told by
the Alpaca transport's error boundary (handlers/alpaca/errors.py): 422 42210000 for a
bad parameter or symbol.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from aiohttp import web

from handlers import keys
from handlers.alpaca.market_data import bar, level_one, resolve_crypto, resolve_stock, trade
from handlers.candle_params import LATEST_MS, time_param
from handlers.commands import decode_cursor, encode_cursor
from handlers.common import KEY_ID_HEADER, SECRET_HEADER, authenticated
from handlers.validation import integer_param
from trading.errors import InvalidInput
from trading.market import Universe

routes = web.RouteTableDef()

TIMEFRAMES = {"1Min": "1m", "5Min": "5m", "15Min": "15m", "1Hour": "1h", "4Hour": "4h",
              "1Day": "1d", "1T": "1m", "5T": "5m", "15T": "15m", "1H": "1h", "4H": "4h",
              "1D": "1d"}
LIMIT_DEFAULT, LIMIT_MAX, PAGE_MAX = 1000, 10_000, 1000
MAX_SYMBOLS = 100
CRYPTO_LOCATIONS = frozenset({"us", "us-1", "us-2", "eu-1"})
_PAGES = "alpaca-bars"  # the kind of list a next_page_token is of

Resolver = Callable[[Universe, str], str]
Handler = Callable[[web.Request], Awaitable[web.Response]]


async def _credentials(request: web.Request) -> None:
    """Check and count credentials when sent (the routes are public)."""
    headers = request.headers
    if "Authorization" in headers or KEY_ID_HEADER in headers or SECRET_HEADER in headers:
        await authenticated(request)


def _symbols(request: web.Request, resolve: Resolver) -> list[tuple[str, str]]:
    """(as asked, configured symbol) of the symbols parameter, in the order asked."""
    raw = request.query.get("symbols", "")
    asked = list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if not asked:
        raise InvalidInput("'symbols' is required: a comma-separated list.", field="symbols")
    if len(asked) > MAX_SYMBOLS:
        raise InvalidInput(f"At most {MAX_SYMBOLS} symbols at a time.", field="symbols")
    universe = request.app[keys.MARKET].universe
    return [(name, resolve(universe, name)) for name in asked]


@dataclass(frozen=True, slots=True)
class BarsQuery:
    timeframe: str
    low: int  # epoch seconds: bars starting within [low, high]
    high: int
    limit: int
    ascending: bool
    after: tuple[str, int] | None  # the page token's symbol and last bar start


def _bars_query(request: web.Request) -> BarsQuery:
    query = request.query
    timeframe = TIMEFRAMES.get(query.get("timeframe", ""))
    if timeframe is None:
        raise InvalidInput("invalid timeframe: 'timeframe' must be one of 1Min, 5Min, 15Min, "
                           "1Hour, 4Hour, 1Day.", field="timeframe")
    sort = query.get("sort", "asc")
    if sort not in ("asc", "desc"):
        raise InvalidInput("'sort' must be asc or desc.", field="sort")
    limit = integer_param(request, "limit", default=LIMIT_DEFAULT, low=1, high=LIMIT_MAX)
    start, end = time_param(request, "start"), time_param(request, "end")
    if start is None:
        today = request.app[keys.CLOCK]().astimezone(UTC).replace(hour=0, minute=0, second=0,
                                                                  microsecond=0)
        start = int(today.timestamp()) * 1000
    if end is not None and start > end:
        raise InvalidInput("'start' (by default today's 00:00 UTC) must not be after 'end'.",
                           field="start")
    after = None
    if token := query.get("page_token"):
        after = _token_position(token, timeframe, sort)
    return BarsQuery(timeframe, -(-start // 1000), (LATEST_MS if end is None else end) // 1000,
                     min(limit, PAGE_MAX), sort == "asc", after)


def _token(symbol: str, query: BarsQuery, last: int) -> str:
    return encode_cursor(_PAGES, f"{query.timeframe}|{'asc' if query.ascending else 'desc'}|"
                                 f"{last}|{symbol}")


def _token_position(token: str, timeframe: str, sort: str) -> tuple[str, int]:
    try:
        named = decode_cursor(_PAGES, token)
    except InvalidInput:
        named = ""
    parts = named.split("|", 3)
    if len(parts) != 4 or parts[:2] != [timeframe, sort] or not parts[2].isascii() \
            or not parts[2].isdigit() or len(parts[2]) > 15 or not parts[3]:
        raise InvalidInput("'page_token' must be a next_page_token of this timeframe and sort.",
                           field="page_token")
    return parts[3], int(parts[2])


async def _bars(request: web.Request, symbols: list[tuple[str, str]], query: BarsQuery
                ) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    """A page of bars by symbol as asked (in alphabetical order), and the next page's token."""
    candles = request.app[keys.MARKET].candles
    ordered = sorted(symbols)
    if query.after is not None:
        ordered = [pair for pair in ordered if pair[0] >= query.after[0]]
    found: dict[str, list[dict[str, Any]]] = {}
    room = query.limit
    for index, (asked, symbol) in enumerate(ordered):
        low, high = query.low, query.high
        if query.after is not None and asked == query.after[0]:
            if query.ascending:
                low = max(low, query.after[1] + 1)
            else:
                high = min(high, query.after[1] - 1)
        page, more = await candles.page(symbol, query.timeframe, low, high, room,
                                        query.ascending)
        if not query.ascending:
            page.reverse()
        if page:
            found[asked] = [bar(candle) for candle in page]
        room -= len(page)
        if room == 0 and (more or index + 1 < len(ordered)):
            return found, _token(asked, query, page[-1].start)
    return found, None


def _stock(handler: Callable[[web.Request, list[tuple[str, str]]], Awaitable[Any]]
           ) -> Handler:
    """A route of stock symbols: their JSON answer."""
    @functools.wraps(handler)
    async def route(request: web.Request) -> web.Response:
        await _credentials(request)
        return web.json_response(await handler(request, _symbols(request, resolve_stock)))
    return route


def _crypto(handler: Callable[[web.Request, list[tuple[str, str]]], Awaitable[Any]]
            ) -> Handler:
    """A route of crypto pairs at one of Alpaca's locations."""
    @functools.wraps(handler)
    async def route(request: web.Request) -> web.Response:
        if request.match_info["loc"] not in CRYPTO_LOCATIONS:
            raise InvalidInput(f"Unknown crypto location; use one of "
                               f"{', '.join(sorted(CRYPTO_LOCATIONS))}.", field="loc")
        await _credentials(request)
        return web.json_response(await handler(request, _symbols(request, resolve_crypto)))
    return route


async def bars(request: web.Request, symbols: list[tuple[str, str]]) -> dict[str, Any]:
    found, token = await _bars(request, symbols, _bars_query(request))
    return {"bars": found, "next_page_token": token}


def latest_trades(request: web.Request, symbols: list[tuple[str, str]]) -> dict[str, Any]:
    last = request.app[keys.MARKET].hub.last
    return {"trades": {asked: trade(last[symbol]) for asked, symbol in symbols
                       if symbol in last}}


def latest_quotes(request: web.Request, symbols: list[tuple[str, str]]) -> dict[str, Any]:
    last = request.app[keys.MARKET].hub.last
    return {"quotes": {asked: level_one(last[symbol]) for asked, symbol in symbols
                       if symbol in last}}


async def _newest(request: web.Request, symbol: str, timeframe: str, count: int
                  ) -> list[dict[str, Any]]:
    """The newest count bars of a timeframe, newest first."""
    page, _ = await request.app[keys.MARKET].candles.page(symbol, timeframe, 0,
                                                          LATEST_MS // 1000, count, False)
    return [bar(candle) for candle in reversed(page)]


async def latest_bars(request: web.Request, symbols: list[tuple[str, str]]) -> dict[str, Any]:
    found = {asked: await _newest(request, symbol, "1m", 1) for asked, symbol in symbols}
    return {"bars": {asked: bars[0] for asked, bars in found.items() if bars}}


async def snapshots(request: web.Request, symbols: list[tuple[str, str]]
                    ) -> dict[str, dict[str, Any]]:
    """Per symbol: the latest trade and quote, minute bar, and today's and the previous
    day's bars (UTC days)."""
    last = request.app[keys.MARKET].hub.last
    found = {}
    for asked, symbol in symbols:
        minute, days = await _newest(request, symbol, "1m", 1), \
            await _newest(request, symbol, "1d", 2)
        quote = last.get(symbol)
        found[asked] = {
            "latestTrade": None if quote is None else trade(quote),
            "latestQuote": None if quote is None else level_one(quote),
            "minuteBar": minute[0] if minute else None,
            "dailyBar": days[0] if days else None,
            "prevDailyBar": days[1] if len(days) > 1 else None}
    return found



@routes.get("/v2/stocks/bars")
@_stock
async def stock_bars(request: web.Request, symbols: list[tuple[str, str]]) -> Any:
    return await bars(request, symbols)


@routes.get("/v2/stocks/{symbol}/bars")
async def stock_symbol_bars(request: web.Request) -> web.Response:
    await _credentials(request)
    asked = request.match_info["symbol"]
    symbol = resolve_stock(request.app[keys.MARKET].universe, asked)
    found, token = await _bars(request, [(asked, symbol)], _bars_query(request))
    return web.json_response({"bars": found.get(asked, []), "symbol": asked,
                              "next_page_token": token})


@routes.get("/v2/stocks/trades/latest")
@_stock
async def stock_latest_trades(request: web.Request, symbols: list[tuple[str, str]]) -> Any:
    return latest_trades(request, symbols)


@routes.get("/v2/stocks/quotes/latest")
@_stock
async def stock_latest_quotes(request: web.Request, symbols: list[tuple[str, str]]) -> Any:
    return latest_quotes(request, symbols)


@routes.get("/v2/stocks/bars/latest")
@_stock
async def stock_latest_bars(request: web.Request, symbols: list[tuple[str, str]]) -> Any:
    return await latest_bars(request, symbols)


@routes.get("/v2/stocks/snapshots")
@_stock
async def stock_snapshots(request: web.Request, symbols: list[tuple[str, str]]) -> Any:
    return await snapshots(request, symbols)


@routes.get("/v1beta3/crypto/{loc}/bars")
@_crypto
async def crypto_bars(request: web.Request, symbols: list[tuple[str, str]]) -> Any:
    return await bars(request, symbols)


@routes.get("/v1beta3/crypto/{loc}/latest/trades")
@_crypto
async def crypto_latest_trades(request: web.Request, symbols: list[tuple[str, str]]) -> Any:
    return latest_trades(request, symbols)


@routes.get("/v1beta3/crypto/{loc}/latest/quotes")
@_crypto
async def crypto_latest_quotes(request: web.Request, symbols: list[tuple[str, str]]) -> Any:
    return latest_quotes(request, symbols)


@routes.get("/v1beta3/crypto/{loc}/latest/bars")
@_crypto
async def crypto_latest_bars(request: web.Request, symbols: list[tuple[str, str]]) -> Any:
    return await latest_bars(request, symbols)


@routes.get("/v1beta3/crypto/{loc}/snapshots")
@_crypto
async def crypto_snapshots(request: web.Request, symbols: list[tuple[str, str]]) -> Any:
    return {"snapshots": await snapshots(request, symbols)}
