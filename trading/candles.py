"""OHLC candles built tick by tick, kept for a bounded number of periods."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

# Interval name -> seconds.
INTERVALS: dict[str, int] = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600}


@dataclass(slots=True)
class Candle:
    start: int  # epoch seconds, a multiple of the interval
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    ticks: int = 1

    def add(self, price: Decimal, ticks: int = 1) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.ticks += ticks


class CandleSeries:
    """Candles of one interval for one symbol, newest last."""

    def __init__(self, seconds: int, keep: int) -> None:
        self.seconds = seconds
        self.candles: deque[Candle] = deque(maxlen=keep)

    def add(self, price: Decimal, epoch_seconds: float) -> None:
        """Fold one tick in. A tick older than the newest candle is ignored."""
        start = int(epoch_seconds) // self.seconds * self.seconds
        last = self.candles[-1] if self.candles else None
        if last is not None and start == last.start:
            last.add(price)
        elif last is None or start > last.start:
            self.candles.append(Candle(start, price, price, price, price))

    def add_bar(self, bar: Candle) -> None:
        """Fold a finer candle in (used to backfill from 1-minute history)."""
        start = bar.start // self.seconds * self.seconds
        last = self.candles[-1] if self.candles else None
        if last is not None and start == last.start:
            last.high, last.low = max(last.high, bar.high), min(last.low, bar.low)
            last.close = bar.close
            last.ticks += bar.ticks
        elif last is None or start > last.start:
            self.candles.append(Candle(start, bar.open, bar.high, bar.low, bar.close, bar.ticks))

    def latest(self, limit: int) -> list[Candle]:
        return list(self.candles)[-limit:] if limit > 0 else []


class CandleBook:
    """Every interval's candles for one symbol."""

    def __init__(self, keep: int) -> None:
        self.series = {name: CandleSeries(seconds, keep) for name, seconds in INTERVALS.items()}

    def add(self, price: Decimal, epoch_seconds: float) -> None:
        for series in self.series.values():
            series.add(price, epoch_seconds)

    def backfill(self, bars: list[Candle]) -> None:
        """Seed from 1-minute bars, oldest first, before live ticks arrive."""
        for bar in bars:
            for series in self.series.values():
                series.add_bar(bar)
