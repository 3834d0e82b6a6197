"""The price hub: the last quote, candles and staleness of every symbol."""

from __future__ import annotations

import logging
from collections.abc import Callable, Container
from datetime import datetime, timedelta
from typing import Any

from feeds.calendars import MarketHours
from trading.candles import TIMEFRAMES, Candle, CandleBook
from trading.market import Quote, Universe, to_millis
from trading.money import show

log = logging.getLogger(__name__)

Listener = Callable[[Quote], None]
# Candles kept in memory per symbol and timeframe: the current one and those not yet
# written to the database (feeds/candles.py writes them every few seconds).
MEMORY_CANDLES = 16


class PriceHub:
    """Holds what is known about prices; tells listeners of every accepted quote.

    Listeners run synchronously inside publish, so they must only record the
    quote and return (schedule any real work).
    """

    def __init__(self, universe: Universe, stale_after: dict[str, timedelta],
                 clock: Callable[[], datetime], hours: MarketHours | None = None) -> None:
        self.universe = universe
        # When each symbol's market is open (None: always).
        self.hours = hours
        # Per symbol: how long without a quote before its price is stale.
        self.stale_after = stale_after
        self.clock = clock
        self.last: dict[str, Quote] = {}
        self.books = {symbol: CandleBook(MEMORY_CANDLES) for symbol in universe.instruments}
        self.changed: set[str] = set()  # symbols whose candles changed since take_candles
        self.listeners: list[Listener] = []
        self.stale_listeners: list[Listener] = []
        self._reported_stale: set[str] = set(universe.instruments)
        self.accepted = 0  # quotes accepted since start (for /metrics)

    def publish(self, quote: Quote) -> bool:
        """Accept a quote unless its symbol is unknown or it is older than (or repeats) the last."""
        if quote.symbol not in self.universe:
            log.debug("dropped a quote for unconfigured symbol %s", quote.symbol)
            return False
        previous = self.last.get(quote.symbol)
        if previous is not None and (quote.ts < previous.ts or quote == previous):
            return False
        self.last[quote.symbol] = quote
        self.accepted += 1
        self.books[quote.symbol].add(quote.price, quote.ts.timestamp())
        self.changed.add(quote.symbol)
        self._reported_stale.discard(quote.symbol)
        for listener in self.listeners:
            try:
                listener(quote)
            except Exception:
                log.exception("price listener failed on %s", quote.symbol)
        return True

    def is_stale(self, symbol: str, now: datetime | None = None) -> bool:
        """No quote yet, or none for stale_after while its market is open (counted from
        the open: a closed market's last price holds until then)."""
        quote = self.last.get(symbol)
        if quote is None:
            return True
        now = now or self.clock()
        since = quote.ts
        if self.hours is not None:
            opened = self.hours.open_since(symbol, now)
            if opened is None:
                return False
            since = max(since, opened)
        return now - since > self.stale_after[symbol]

    def check_staleness(self) -> list[Quote]:
        """Tell stale listeners of symbols that went stale since the last check (once each)."""
        now = self.clock()
        gone = [quote for symbol, quote in self.last.items()
                if symbol not in self._reported_stale and self.is_stale(symbol, now)]
        for quote in gone:
            self._reported_stale.add(quote.symbol)
            for listener in self.stale_listeners:
                listener(quote)
        return gone

    def payload(self, quote: Quote, stale: bool | None = None) -> dict[str, Any]:
        """The wire form of a quote: price as an exact decimal string, ts in epoch ms."""
        return {"symbol": quote.symbol, "price": str(quote.price), "ts": to_millis(quote.ts),
                "source": quote.source,
                "stale": self.is_stale(quote.symbol) if stale is None else stale}

    def view(self, symbol: str) -> dict[str, Any]:
        """What REST shows of a symbol, whether or not a price has arrived."""
        quote = self.last.get(symbol)
        if quote is None:
            return {"symbol": symbol, "price": None, "ts": None,
                    "source": self.universe.instruments[symbol].source, "stale": True}
        return self.payload(quote)

    def take_candles(self, open_timeframes: Container[str] = TIMEFRAMES,
                     ) -> list[tuple[str, str, Candle]]:
        """(symbol, timeframe, copy) of every candle changed since the last take; of the
        candles ticks still change, only those of open_timeframes."""
        taken = []
        for symbol in self.changed:
            book = self.books[symbol]
            taken += [(symbol, timeframe, candle)
                      for timeframe, candles in book.take(open_timeframes).items()
                      for candle in candles]
        self.changed = {symbol for symbol in self.changed if self.books[symbol].changed}
        return taken

    def merge_candle(self, symbol: str, timeframe: str, bar: Candle) -> None:
        """Take a source's bar for the current period into the candle being built."""
        self.books[symbol].series[timeframe].merge(bar)
        self.changed.add(symbol)

    def memory(self, symbol: str, timeframe: str) -> list[Candle]:
        """The candles of a symbol and timeframe held in memory, oldest first."""
        return list(self.books[symbol].series[timeframe].candles)


def candle_payload(candle: Candle) -> dict[str, Any]:
    """The wire form of a candle: t in epoch ms, prices as plain decimal strings."""
    return {"t": candle.start * 1000, "o": show(candle.open), "h": show(candle.high),
            "l": show(candle.low), "c": show(candle.close), "ticks": candle.ticks}
