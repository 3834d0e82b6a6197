"""Stocks and indices from Yahoo Finance (yfinance), by polling.

yfinance is blocking, so every call runs in a thread; calls are spaced to at
most max_rate per second, and failures back off exponentially. The fetch
functions are injected so tests (and other providers) can stand in for Yahoo.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from feeds.base import Backoff, Sink
from trading.candles import Candle
from trading.market import Instrument, Quote, parse_price

log = logging.getLogger(__name__)

# symbols -> {symbol: (price, time of that price)}
Fetch = Callable[[list[str]], dict[str, tuple[Decimal, datetime]]]
# symbol -> today's 1-minute bars, oldest first
FetchHistory = Callable[[str], list[Candle]]


class RateLimiter:
    """Spaces calls at least 1/rate seconds apart."""

    def __init__(self, rate: float) -> None:
        self.spacing = 1.0 / rate
        self.next_at = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self.next_at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        self.next_at = max(loop.time(), self.next_at) + self.spacing


class YFinanceFeed:
    name = "yfinance"

    def __init__(self, instruments: list[Instrument], *, interval: float, max_rate: float,
                 fetch: Fetch | None = None, history: FetchHistory | None = None,
                 backoff: Backoff | None = None) -> None:
        self.symbols = [i.symbol for i in instruments]
        self.interval = interval
        self.limiter = RateLimiter(max_rate)
        self.fetch = fetch or yahoo_fetch
        self.history = history or yahoo_history
        self.backoff = backoff or Backoff(first=interval, most=300.0)
        self.requests = 0

    async def _call(self, func: Callable[..., Any], *args: object) -> Any:
        await self.limiter.wait()
        self.requests += 1
        return await asyncio.to_thread(func, *args)

    async def run(self, sink: Sink) -> None:
        if not self.symbols:
            return
        for symbol in self.symbols:
            try:
                bars = await self._call(self.history, symbol)
                sink.backfill(symbol, bars)
            except Exception as exc:
                log.warning("no history for %s from Yahoo (%s)", symbol, type(exc).__name__)
        while True:
            try:
                prices = await self._call(self.fetch, self.symbols)
            except Exception as exc:
                delay = self.backoff.next_delay()
                log.warning("Yahoo fetch failed (%s); retrying in %.0f s", type(exc).__name__,
                            delay)
                await asyncio.sleep(delay)
                continue
            self.backoff.reset()
            for symbol, (price, moment) in prices.items():
                if symbol in self.symbols:
                    sink.publish(Quote(symbol, price, moment, self.name))
            await asyncio.sleep(self.interval)


def _closes(frame: Any, symbol: str, many: bool) -> Any:
    column = frame[symbol]["Close"] if many else frame["Close"]
    return column.dropna()


def yahoo_fetch(symbols: list[str]) -> dict[str, tuple[Decimal, datetime]]:
    """The latest 1-minute close of each symbol, in one Yahoo request."""
    import yfinance  # heavy (pandas); only servers with Yahoo symbols load it

    frame = yfinance.download(symbols, period="1d", interval="1m", group_by="ticker",
                              progress=False, threads=False, auto_adjust=False)
    prices = {}
    for symbol in symbols:
        closes = _closes(frame, symbol, len(symbols) > 1)
        if len(closes):
            moment = closes.index[-1].to_pydatetime().astimezone(UTC)
            prices[symbol] = (parse_price(float(closes.iloc[-1])), moment)
    return prices


def yahoo_history(symbol: str) -> list[Candle]:
    """Today's 1-minute bars for a symbol, oldest first."""
    import yfinance

    frame = yfinance.Ticker(symbol).history(period="1d", interval="1m", auto_adjust=False)
    bars = []
    for moment, row in frame.iterrows():
        open_, high, low, close = (parse_price(float(row[name]))
                                   for name in ("Open", "High", "Low", "Close"))
        bars.append(Candle(int(moment.timestamp()), open_, high, low, close))
    return bars
