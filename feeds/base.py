"""What every price source implements, and the retry pacing they share."""

from __future__ import annotations

import asyncio
import random
from typing import Protocol

from trading.candles import Candle
from trading.market import Quote


class Sink(Protocol):
    """Where a feed delivers quotes (the price hub)."""

    def publish(self, quote: Quote) -> bool: ...


class Feed(Protocol):
    name: str

    async def run(self, sink: Sink) -> None:
        """Deliver quotes until cancelled (a finite replay may return)."""


class HistorySource(Protocol):
    """Where the past of a feed's symbols comes from (a feed's ``history``, if it has one)."""

    name: str
    symbols: list[str]

    def ready(self) -> bool:
        """Whether it can answer now (the simulator's past needs its start)."""

    def depth(self, timeframe: str) -> int:
        """How many periods of timeframe back a fill reaches (trading.candles.BACKFILL_DEPTH
        for a market's source)."""

    async def bars(self, symbol: str, timeframe: str, start: int, end: int,
                   last_minute: Candle | None) -> list[Candle]:
        """Candles of timeframe whose periods start within [start, end] (epoch seconds),
        oldest first. last_minute is the newest 1m candle stored, if any. Raises
        HistoryError (or an I/O error) when the source cannot answer."""

    async def aclose(self) -> None:
        """Release connections."""


class HistoryError(Exception):
    """A price source refused, or answered with something unusable."""


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


class RateLimiter:
    """Spaces calls at least 1/rate seconds apart, however many callers wait at once
    (each takes its turn before it sleeps)."""

    def __init__(self, rate: float) -> None:
        self.spacing = 1.0 / rate
        self.next_at = 0.0

    async def wait(self) -> None:
        now = asyncio.get_running_loop().time()
        turn = max(now, self.next_at)
        self.next_at = turn + self.spacing
        if turn > now:
            await asyncio.sleep(turn - now)

    def pause(self, seconds: float) -> None:
        """Make no call for the given seconds (a source said to wait)."""
        loop = asyncio.get_running_loop()
        self.next_at = max(self.next_at, loop.time() + seconds)
