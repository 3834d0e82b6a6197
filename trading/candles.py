"""OHLC candles: built tick by tick, folded from finer bars, merged with stored ones.

A timeframe's periods are fixed lengths aligned to the Unix epoch, in UTC: a 1d
candle starts at 00:00 UTC, a 4h one at 00:00, 04:00, ... UTC. A candle is
named by its period's start, in epoch seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Container, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

# Timeframe name -> seconds.
TIMEFRAMES: dict[str, int] = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14_400,
                              "1d": 86_400}
INTERVALS = TIMEFRAMES  # the name earlier versions used

DAY = 86_400
# How long stored candles are kept, in days (None: for good).
RETENTION_DAYS: dict[str, int | None] = {"1m": 7, "5m": 60, "15m": 180, "1h": 730, "4h": None,
                                         "1d": None}
# How far back a backfill from a price source reaches, in candles: a day of 1m
# candles, two of 5m, a week of 15m, 30 days of 1h, 90 of 4h and a year of 1d.
BACKFILL_DEPTH: dict[str, int] = {"1m": 1440, "5m": 576, "15m": 672, "1h": 720, "4h": 540,
                                  "1d": 365}


def period_start(epoch_seconds: float, seconds: int) -> int:
    """The start of the period of this length that holds the moment."""
    return int(epoch_seconds // seconds) * seconds


@dataclass(slots=True)
class Candle:
    start: int  # epoch seconds, a multiple of the timeframe
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    ticks: int = 1
    # Its open is not the period's first price: it was begun by the first tick a
    # process saw, in the middle of a period (or a source's bar covers only the
    # end of its period).
    partial: bool = False

    def add(self, price: Decimal, ticks: int = 1) -> None:
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.close = price
        self.ticks += ticks

    def copy(self) -> Candle:
        return replace(self)

    def absorb(self, bar: Candle) -> None:
        """Take in a source's bar of the same period (older prices than this candle's
        latest): its open if it covers the period from the start, its extremes."""
        if self.partial and not bar.partial:
            self.open, self.partial = bar.open, False
        self.high, self.low = max(self.high, bar.high), min(self.low, bar.low)
        self.ticks = max(self.ticks, bar.ticks)


def overlay(stored: Candle, live: Candle) -> Candle:
    """A stored candle with what a process holds in memory for the same period.

    The memory is the newer (its close wins); a partial one began after the stored
    candle did, so the stored open wins over it.
    """
    return Candle(stored.start, stored.open if live.partial else live.open,
                  max(stored.high, live.high), min(stored.low, live.low), live.close,
                  max(stored.ticks, live.ticks), stored.partial and live.partial)


def aggregate(bars: Iterable[Candle], seconds: int) -> list[Candle]:
    """Fold bars (oldest first, of any shorter timeframe) into periods of seconds.

    A period whose first bar does not start it is partial if that bar is, or if
    the bars begin after the period did.
    """
    folded: list[Candle] = []
    for bar in bars:
        start = period_start(bar.start, seconds)
        last = folded[-1] if folded else None
        if last is not None and last.start == start:
            last.high, last.low = max(last.high, bar.high), min(last.low, bar.low)
            last.close = bar.close
            last.ticks += bar.ticks
        elif last is None or start > last.start:
            folded.append(Candle(start, bar.open, bar.high, bar.low, bar.close, bar.ticks,
                                 bar.partial or (last is None and bar.start != start)))
    return folded


class CandleSeries:
    """The newest candles of one timeframe for one symbol, and which changed since the
    last ``take`` (so only those are written)."""

    def __init__(self, seconds: int, keep: int) -> None:
        self.seconds = seconds
        self.candles: deque[Candle] = deque(maxlen=keep)
        self.changed_from: int | None = None  # the oldest start changed since take
        self.started = False  # a candle was ever begun here

    def _changed(self, start: int) -> None:
        if self.changed_from is None or start < self.changed_from:
            self.changed_from = start

    def add(self, price: Decimal, epoch_seconds: float) -> None:
        """Fold one tick in. A tick older than the newest candle is ignored.

        On every tick's path: no work beyond the candle's own (a tick is never older
        than what changed since the last take, so only the first change is noted).
        """
        start = int(epoch_seconds) // self.seconds * self.seconds
        last = self.candles[-1] if self.candles else None
        if last is not None and start == last.start:
            last.add(price)
        elif last is None or start > last.start:
            # The first candle a process begins is joined in the middle of its period.
            self.candles.append(Candle(start, price, price, price, price,
                                       partial=not self.started))
            self.started = True
        else:
            return
        if self.changed_from is None:
            self.changed_from = start

    def merge(self, bar: Candle) -> None:
        """Take in a source's bar for the newest period held, or a newer one; an older
        one is left to the stored history."""
        last = self.candles[-1] if self.candles else None
        if last is not None and bar.start == last.start:
            last.absorb(bar)
        elif last is None or bar.start > last.start:
            self.candles.append(bar.copy())
            self.started = True
        else:
            return
        self._changed(bar.start)

    def take(self, with_open: bool = True) -> list[Candle]:
        """Copies of the candles changed since the last take, oldest first; without the
        newest (the one ticks still change) unless with_open, which then stays changed."""
        if self.changed_from is None:
            return []
        since, self.changed_from = self.changed_from, None
        taken = [candle.copy() for candle in self.candles if candle.start >= since]
        if not with_open and taken:
            self.changed_from = taken.pop().start
        return taken

    def latest(self, limit: int) -> list[Candle]:
        return list(self.candles)[-limit:] if limit > 0 else []


class CandleBook:
    """Every timeframe's newest candles for one symbol."""

    def __init__(self, keep: int) -> None:
        self.series = {name: CandleSeries(seconds, keep) for name, seconds in TIMEFRAMES.items()}

    def add(self, price: Decimal, epoch_seconds: float) -> None:
        for series in self.series.values():
            series.add(price, epoch_seconds)

    def take(self, open_timeframes: Container[str] = TIMEFRAMES) -> dict[str, list[Candle]]:
        """Per timeframe, copies of the candles changed since the last take; the newest
        candle only of the timeframes in open_timeframes."""
        return {name: taken for name, series in self.series.items()
                if (taken := series.take(name in open_timeframes))}

    @property
    def changed(self) -> bool:
        """Whether a candle changed since it was last taken."""
        return any(series.changed_from is not None for series in self.series.values())
