"""What every price source implements, and the retry pacing they share."""

from __future__ import annotations

import random
from typing import Protocol

from trading.candles import Candle
from trading.market import Quote


class Sink(Protocol):
    """Where a feed delivers quotes (the price hub)."""

    def publish(self, quote: Quote) -> bool: ...

    def backfill(self, symbol: str, bars: list[Candle]) -> None: ...


class Feed(Protocol):
    name: str

    async def run(self, sink: Sink) -> None:
        """Deliver quotes until cancelled (a finite replay may return)."""


class Backoff:
    """Exponential delays with full jitter, so reconnecting clients spread out."""

    def __init__(self, first: float = 0.5, most: float = 30.0) -> None:
        self.first = first
        self.most = most
        self.attempt = 0
        self._random = random.SystemRandom()

    def next_delay(self) -> float:
        ceiling = min(self.most, self.first * 2 ** self.attempt)
        self.attempt += 1
        return self._random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0
