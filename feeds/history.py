"""The past of live symbols: Binance's klines REST endpoint and Yahoo Finance's history.

Both convert the source's bars into trading.candles.Candle at this edge, drop a
row that is not a sane bar (and say so), and refuse an answer too large to be
one. Calls are spaced by a rate limiter; the caller bounds how long one waits.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp

from feeds.base import HistoryError, RateLimiter
from trading.candles import BACKFILL_DEPTH, TIMEFRAMES, Candle, aggregate, period_start
from trading.market import Instrument, parse_price, symbol_key

log = logging.getLogger(__name__)

DEFAULT_REST_URL = "https://api.binance.com"
MAX_KLINES = 1000  # Binance's largest page
MAX_BODY_BYTES = 1 << 20  # a page of 1,000 klines is about 150 KB


def sane_bar(start: int, prices: tuple[Decimal, Decimal, Decimal, Decimal],
             ticks: int) -> Candle:
    """A bar whose high and low hold its open and close; ValueError otherwise."""
    open_, high, low, close = prices
    if not low <= min(open_, close) <= max(open_, close) <= high or ticks < 0 or start < 0:
        raise ValueError("not a bar")
    return Candle(start, open_, high, low, close, ticks)


class BinanceKlines:
    """GET /api/v3/klines?symbol=&interval=&startTime=&endTime=&limit= (no API key).

    Binance's interval names are ours (1m, 5m, 15m, 1h, 4h, 1d) and its periods
    are aligned the same way (UTC). A row is [open time ms, open, high, low,
    close, volume, close time, quote volume, trades, ...]; trades become ticks.
    A 429 or 418 answer pauses every call for its Retry-After (at most a minute).
    """

    name = "binance"

    def __init__(self, instruments: list[Instrument], *, url: str = DEFAULT_REST_URL,
                 max_rate: float = 5.0, timeout: float = 10.0) -> None:
        self.keys = {i.symbol: symbol_key(i.symbol) for i in instruments}
        self.symbols = list(self.keys)
        self.url = url.rstrip("/")
        self.limiter = RateLimiter(max_rate)
        self.timeout = timeout
        self.session: aiohttp.ClientSession | None = None
        self.requests = 0

    def ready(self) -> bool:
        return True

    def depth(self, timeframe: str) -> int:
        return BACKFILL_DEPTH[timeframe]

    async def bars(self, symbol: str, timeframe: str, start: int, end: int,
                   last_minute: Candle | None = None) -> list[Candle]:
        seconds = TIMEFRAMES[timeframe]
        found: list[Candle] = []
        cursor = start
        # One page per 1,000 periods of the range, and one more: a bounded loop.
        for _ in range((end - start) // (seconds * MAX_KLINES) + 2):
            page = [bar for bar in await self._page(symbol, timeframe, cursor, end)
                    if cursor <= bar.start <= end]
            found += page
            if len(page) < MAX_KLINES:
                break
            cursor = page[-1].start + seconds
        return aggregate(found, seconds)

    async def _page(self, symbol: str, timeframe: str, start: int, end: int) -> list[Candle]:
        if self.session is None:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
                total=self.timeout))
        await self.limiter.wait()
        self.requests += 1
        params = {"symbol": self.keys[symbol], "interval": timeframe,
                  "startTime": str(start * 1000), "endTime": str(end * 1000),
                  "limit": str(MAX_KLINES)}
        async with self.session.get(f"{self.url}/api/v3/klines", params=params) as response:
            body = await self._body(response)
            if response.status in (418, 429):
                wait = min(60.0, float(response.headers.get("Retry-After", "10") or 10))
                self.limiter.pause(wait)
                raise HistoryError(f"Binance asked to wait {wait:.0f} s (HTTP {response.status})")
            if response.status != 200:
                raise HistoryError(f"Binance answered HTTP {response.status}: {body[:200]!r}")
        try:
            rows = json.loads(body)
        except ValueError:
            raise HistoryError("Binance's klines are not JSON") from None
        if not isinstance(rows, list):
            raise HistoryError("Binance's klines are not a list")
        return self._parse(symbol, timeframe, rows)

    @staticmethod
    async def _body(response: aiohttp.ClientResponse) -> bytes:
        body = bytearray()
        async for chunk in response.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise HistoryError("Binance's answer is too large to be a page of klines")
        return bytes(body)

    @staticmethod
    def _parse(symbol: str, timeframe: str, rows: list[Any]) -> list[Candle]:
        bars, skipped = [], 0
        for row in rows[:MAX_KLINES]:
            try:
                millis = row[0]
                if isinstance(millis, bool) or not isinstance(millis, int):
                    raise ValueError("open time")
                trades = row[8] if isinstance(row[8], int) and not isinstance(row[8], bool) \
                    else 0
                prices = (parse_price(row[1]), parse_price(row[2]), parse_price(row[3]),
                          parse_price(row[4]))
                bars.append(sane_bar(millis // 1000, prices, trades))
            except (ValueError, TypeError, IndexError, KeyError):
                skipped += 1
        if skipped:
            log.warning("skipped %d malformed Binance klines of %s %s", skipped, symbol,
                        timeframe)
        bars.sort(key=lambda bar: bar.start)
        return bars

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


# symbol, Yahoo interval (1m, 5m, 15m, 60m, 1d), start, end -> bars, oldest first
FetchBars = Callable[[str, str, datetime, datetime], list[Candle]]
# Yahoo has no 4h bars: they are folded from 60m ones.
YAHOO_INTERVALS = {"1m": "1m", "5m": "5m", "15m": "15m", "1h": "60m", "4h": "60m", "1d": "1d"}


class YahooHistory:
    """Yahoo Finance's bars through yfinance (blocking: run in a thread), spaced by the
    feed's own rate limiter. Bars are folded into our periods: Yahoo's hourly bars
    start at the exchange's open (09:15 in Mumbai), ours on the hour."""

    name = "yfinance"

    def __init__(self, symbols: list[str], *, fetch: FetchBars, limiter: RateLimiter,
                 timeout: float = 30.0) -> None:
        self.symbols = symbols
        self.fetch = fetch
        self.limiter = limiter
        self.timeout = timeout
        self.requests = 0

    def ready(self) -> bool:
        return True

    def depth(self, timeframe: str) -> int:
        return BACKFILL_DEPTH[timeframe]

    async def bars(self, symbol: str, timeframe: str, start: int, end: int,
                   last_minute: Candle | None = None) -> list[Candle]:
        seconds = TIMEFRAMES[timeframe]
        await self.limiter.wait()
        self.requests += 1
        found = await asyncio.wait_for(asyncio.to_thread(
            self.fetch, symbol, YAHOO_INTERVALS[timeframe], datetime.fromtimestamp(start, UTC),
            datetime.fromtimestamp(end + seconds, UTC)), self.timeout)
        bars = []
        for bar in found:
            try:
                bars.append(sane_bar(bar.start, (bar.open, bar.high, bar.low, bar.close),
                                     bar.ticks))
            except (ValueError, TypeError, AttributeError):
                log.warning("skipped a malformed Yahoo bar of %s", symbol)
        bars.sort(key=lambda bar: bar.start)
        return [bar for bar in aggregate(bars, seconds)
                if start <= bar.start <= end]

    async def aclose(self) -> None:
        return None


def yahoo_bars(symbol: str, interval: str, start: datetime, end: datetime) -> list[Candle]:
    """Yahoo's bars of a symbol in [start, end), oldest first. A daily bar is dated by
    its exchange's calendar day, which becomes that day's 00:00 UTC."""
    import yfinance  # heavy (pandas); only servers with Yahoo symbols load it

    frame = yfinance.Ticker(symbol).history(start=start, end=end, interval=interval,
                                            auto_adjust=False)
    bars = []
    for moment, row in frame.iterrows():
        try:
            open_, high, low, close = (parse_price(float(row[name]))
                                       for name in ("Open", "High", "Low", "Close"))
        except ValueError:  # NaN rows: no trading in that bar
            continue
        when = (datetime(moment.year, moment.month, moment.day, tzinfo=UTC).timestamp()
                if interval == "1d" else moment.timestamp())
        bars.append(Candle(period_start(when, 60), open_, high, low, close, 0))
    return bars
