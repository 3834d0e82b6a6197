"""Stocks and indices from Yahoo Finance (yfinance), by polling.

yfinance is blocking, so every call runs in a thread; calls are spaced to at
most max_rate per second, and failures back off exponentially. An outage is logged
once when it starts and once when prices come back (feeds/outage.py); yfinance's
own log lines go to DEBUG (server/logs.py). The fetch functions are injected so
tests (and other providers) can stand in for Yahoo.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from feeds.base import Backoff, RateLimiter, Sink
from feeds.history import FetchBars, YahooHistory, yahoo_bars
from feeds.outage import Outage, reason
from trading.market import Instrument, Quote, parse_price

log = logging.getLogger(__name__)

# symbols -> {symbol: (price, time of that price)}
Fetch = Callable[[list[str]], dict[str, tuple[Decimal, datetime]]]


class YFinanceFeed:
    name = "yfinance"

    def __init__(self, instruments: list[Instrument], *, interval: float, max_rate: float,
                 fetch: Fetch | None = None, history: FetchBars | None = None,
                 history_timeout: float = 30.0, backoff: Backoff | None = None) -> None:
        self.symbols = [i.symbol for i in instruments]
        self.interval = interval
        self.limiter = RateLimiter(max_rate)
        self.fetch = fetch or yahoo_fetch
        # The symbols' past (feeds/candles.py asks it), on the same request budget.
        self.history = YahooHistory(self.symbols, fetch=history or yahoo_bars,
                                    limiter=self.limiter, timeout=history_timeout)
        self.backoff = backoff or Backoff(first=interval, most=300.0)
        self.outage = Outage("Yahoo Finance", log)
        self.requests = 0

    async def _call(self, func: Callable[..., Any], *args: object) -> Any:
        await self.limiter.wait()
        self.requests += 1
        return await asyncio.to_thread(func, *args)

    async def run(self, sink: Sink) -> None:
        if not self.symbols:
            return
        while True:
            try:
                prices = await self._call(self.fetch, self.symbols)
            except Exception as exc:
                delay = self.backoff.next_delay()
                self.outage.failed(reason(exc), delay)
                await asyncio.sleep(delay)
                continue
            self.backoff.reset()
            self.outage.recovered()
            for symbol, (price, moment) in prices.items():
                if symbol in self.symbols:
                    sink.publish(Quote(symbol, price, moment, self.name))
            await asyncio.sleep(self.interval)


def _closes(frame: Any, symbol: str, many: bool) -> Any:
    column = frame[symbol]["Close"] if many else frame["Close"]
    return column.dropna()


class NoPrices(LookupError):
    """Yahoo answered no price for any symbol asked (yfinance reports an unreachable
    Yahoo this way, in log lines, instead of raising)."""


def yahoo_fetch(symbols: list[str]) -> dict[str, tuple[Decimal, datetime]]:
    """The latest 1-minute close of each symbol, in one Yahoo request; NoPrices when
    there is none."""
    import yfinance  # heavy (pandas); only servers with Yahoo symbols load it

    frame = yfinance.download(symbols, period="1d", interval="1m", group_by="ticker",
                              progress=False, threads=False, auto_adjust=False)
    prices = {}
    for symbol in symbols:
        try:
            closes = _closes(frame, symbol, len(symbols) > 1)
        except KeyError:  # an empty frame, when Yahoo could not be reached
            continue
        if len(closes):
            moment = closes.index[-1].to_pydatetime().astimezone(UTC)
            prices[symbol] = (parse_price(float(closes.iloc[-1])), moment)
    if not prices:
        raise NoPrices(f"no price for {', '.join(symbols)} (details at DEBUG)")
    return prices
