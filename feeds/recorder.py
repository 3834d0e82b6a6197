"""Writes the hub's candles to the database every few seconds, never per tick.

A tick costs a few comparisons per timeframe and a set insertion: the hub's
candle series note which candles changed (feeds/hub.py). Every ``every``
seconds the recorder takes copies of the changed candles and writes them in
batches of upserts (store/candles.py), however fast the symbols tick. A candle
that closed is written by the next flush after it closed. The candle still
open is rewritten at most every ``open_every(timeframe)``: each flush for 1m, a
sixth of the period for longer ones (5m: 50 s) but at least every 5 minutes. So
N symbols cost about N x 1.4 upserts per 10 s flush instead of N x 6, and a crash
loses at most a flush interval of the 1m candle and 5 minutes of the range of a
longer one still open (shutdown writes everything).

A write that fails (the database down) keeps its candles for the next flush,
newest copy winning, up to MAX_UNSAVED of them; reads see them meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from pymongo.errors import PyMongoError

from feeds.hub import PriceHub
from store.candles import CandleStore, Row
from trading.candles import TIMEFRAMES, Candle

log = logging.getLogger(__name__)

MAX_UNSAVED = 200_000
MAX_OPEN_EVERY = 300.0
Key = tuple[str, str]  # symbol, timeframe


def open_every(timeframe: str, every: float) -> float:
    """Seconds between writes of a timeframe's open candles: each flush for 1m."""
    if timeframe == "1m":
        return every
    return max(every, min(TIMEFRAMES[timeframe] / 6, MAX_OPEN_EVERY))


class CandleRecorder:
    def __init__(self, hub: PriceHub, store: CandleStore, every: float,
                 timer: Callable[[], float] | None = None) -> None:
        self.hub, self.store, self.every = hub, store, every
        self.timer = timer  # seconds, monotonic (default: the event loop's clock)
        self.unsaved: dict[Key, dict[int, Candle]] = {}
        self.saving: dict[Key, dict[int, Candle]] = {}
        self.task: asyncio.Task[None] | None = None
        self.written = 0  # candles written since start (for tests and operators)
        self.flushes = 0
        self._failing = False
        self.open_every = {timeframe: open_every(timeframe, every) for timeframe in TIMEFRAMES}
        self.open_written: dict[str, float] = {}  # loop time of each timeframe's last

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.create_task(self._run(), name="candles:flush")

    async def stop(self, within: float = 5.0) -> None:
        """Stop the loop, then write what is left (waiting at most within seconds)."""
        if self.task is None:
            return
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        self.task = None
        try:
            await asyncio.wait_for(self.flush(everything=True), within)
        except (PyMongoError, TimeoutError) as exc:
            log.warning("candles not written at shutdown: %s", type(exc).__name__)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.flush()
                if self._failing:
                    log.info("candles are being written again")
                self._failing = False
            except PyMongoError as exc:
                if not self._failing:
                    log.warning("could not write candles (%s); keeping them for the next try",
                                type(exc).__name__)
                self._failing = True

    async def flush(self, everything: bool = False) -> int:
        """Write the candles changed since the last flush (the open ones when they are
        due, or everything); return how many."""
        now = self.timer() if self.timer is not None else asyncio.get_running_loop().time()
        due = {timeframe for timeframe, every in self.open_every.items()
               if everything or now - self.open_written.get(timeframe, -every) >= every}
        self.open_written.update(dict.fromkeys(due, now))
        for symbol, timeframe, candle in self.hub.take_candles(due):
            self.unsaved.setdefault((symbol, timeframe), {})[candle.start] = candle
        if not self.unsaved:
            return 0
        self.saving, self.unsaved = self.unsaved, {}
        rows = [Row(symbol, timeframe, candle)
                for (symbol, timeframe), candles in self.saving.items()
                for candle in candles.values()]
        try:
            await self.store.save(rows)
        except BaseException:
            self._keep(self.saving)
            raise
        finally:
            self.saving = {}
        self.written += len(rows)
        self.flushes += 1
        return len(rows)

    def _keep(self, failed: dict[Key, dict[int, Candle]]) -> None:
        """Put a failed batch back under what was taken since (newer copies win)."""
        for key, candles in failed.items():
            self.unsaved[key] = {**candles, **self.unsaved.get(key, {})}
        count = sum(len(candles) for candles in self.unsaved.values())
        if count > MAX_UNSAVED:
            ranked = sorted((candle.start, key) for key, candles in self.unsaved.items()
                            for candle in candles.values())
            for start, key in ranked[:count - MAX_UNSAVED]:
                self.unsaved[key].pop(start, None)
            log.warning("dropped the %d oldest unwritten candles", count - MAX_UNSAVED)

    def pending(self, symbol: str, timeframe: str) -> list[Candle]:
        """Candles of a symbol and timeframe taken but not written yet, oldest first."""
        key = (symbol, timeframe)
        merged = {**self.saving.get(key, {}), **self.unsaved.get(key, {})}
        return [merged[start] for start in sorted(merged)]
