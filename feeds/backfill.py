"""Fills the stored candles of live symbols from their source's history.

For a symbol and timeframe a fill looks at what is stored and asks the source
only for what is missing of the backfill window (the source's depth: for a
market trading.candles.BACKFILL_DEPTH periods back from now, for the simulator
its days): all of it when nothing is stored, else the periods before the oldest
stored candle and those after the newest. Closed periods are
inserted where nothing is stored (store/candles.py: history never overwrites);
the current period's bar goes to the hub, into the candle live ticks extend.

The process that writes candles fills every symbol at start-up, one symbol at a
time per source (its rate limiter spaces the calls). A request for a symbol and
timeframe not filled yet starts its fill at once and waits for it at most a
bound (CANDLE_BACKFILL_WAIT), then is answered with what is stored. A source
call gives up after CANDLE_BACKFILL_TIMEOUT seconds; a fill that failed is
tried again by a request RETRY_AFTER seconds later, not before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from pymongo.errors import PyMongoError

from feeds.base import HistoryError, HistorySource
from feeds.hub import PriceHub
from store.candles import CandleStore
from trading.candles import TIMEFRAMES, Candle, period_start

log = logging.getLogger(__name__)

RETRY_AFTER = 60.0
Key = tuple[str, str]  # symbol, timeframe


class Backfiller:
    def __init__(self, hub: PriceHub, store: CandleStore, sources: dict[str, HistorySource],
                 clock: Callable[[], datetime], timeout: float) -> None:
        self.hub, self.store, self.clock, self.timeout = hub, store, clock, timeout
        self.sources = sources  # symbol -> its source
        self.done: set[Key] = set()
        self.failed: dict[Key, float] = {}  # when a fill last failed (loop time)
        self.down: set[str] = set()  # sources whose last fill failed (logged once)
        self.tasks: dict[Key, asyncio.Task[None]] = {}
        self.startup: list[asyncio.Task[None]] = []
        self.added = 0  # candles stored from history since start-up

    def start(self) -> None:
        """Fill every symbol, each source in a task of its own (a slow one holds up no
        other). A fill done before is done again: the past may have moved on."""
        self.done.clear()
        self.failed.clear()
        by_source: dict[int, list[str]] = {}
        for symbol, source in self.sources.items():
            by_source.setdefault(id(source), []).append(symbol)
        self.startup = [asyncio.create_task(self._fill_all(symbols), name="candles:backfill")
                        for symbols in by_source.values()]

    async def stop(self) -> None:
        tasks = [*self.startup, *self.tasks.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.startup.clear()

    async def _fill_all(self, symbols: list[str]) -> None:
        await asyncio.sleep(0)  # the feeds start first (the simulator's past needs its start)
        before = self.added
        for symbol in symbols:
            for timeframe in TIMEFRAMES:
                if (task := self.ensure(symbol, timeframe)) is not None:
                    await asyncio.wait([task])
        if self.added > before:  # one line for the start-up fill; each series at DEBUG
            log.info("stored %d candles of history for %d symbols", self.added - before,
                     len(symbols))

    def ensure(self, symbol: str, timeframe: str) -> asyncio.Task[None] | None:
        """The fill of a symbol and timeframe under way, started now if it is needed."""
        key = (symbol, timeframe)
        source = self.sources.get(symbol)
        if key in self.done or source is None or not source.ready():
            return None
        failed = self.failed.get(key)
        if failed is not None and asyncio.get_running_loop().time() - failed < RETRY_AFTER:
            return None
        task = self.tasks.get(key)
        if task is None:
            task = asyncio.create_task(self._fill(source, symbol, timeframe),
                                       name=f"candles:fill:{symbol}:{timeframe}")
            self.tasks[key] = task
            task.add_done_callback(lambda _: self.tasks.pop(key, None))
        return task

    async def wait(self, symbol: str, timeframe: str, within: float) -> None:
        """Start the fill if needed and wait for it, at most within seconds."""
        task = self.ensure(symbol, timeframe)
        if task is not None and within > 0:
            await asyncio.wait([task], timeout=within)

    async def _fill(self, source: HistorySource, symbol: str, timeframe: str) -> None:
        key = (symbol, timeframe)
        try:
            added = await self._fetch(source, symbol, timeframe)
        except (HistoryError, PyMongoError, TimeoutError, OSError, ValueError) as exc:
            self.failed[key] = asyncio.get_running_loop().time()
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            if source.name not in self.down:  # one line per source until it answers again
                self.down.add(source.name)
                log.warning("no candle history from %s for %s %s: %s; charts show what is "
                            "stored until it answers", source.name, symbol, timeframe, reason)
            else:
                log.debug("no %s history for %s from %s: %s", timeframe, symbol,
                          source.name, reason)
            return
        except Exception:  # a source's bug must not take the fills down with it
            self.failed[key] = asyncio.get_running_loop().time()
            log.exception("%s history for %s %s failed", source.name, symbol, timeframe)
            return
        self.done.add(key)
        self.failed.pop(key, None)
        if added and source.name in self.down:  # (a source that fails may answer nothing)
            self.down.discard(source.name)
            log.info("candle history from %s is back", source.name)
        self.added += added
        if added:
            log.debug("backfilled %d %s candles of %s from %s", added, timeframe, symbol,
                      source.name)

    async def _fetch(self, source: HistorySource, symbol: str, timeframe: str) -> int:
        seconds = TIMEFRAMES[timeframe]
        current = period_start(self.clock().timestamp(), seconds)
        window = current - source.depth(timeframe) * seconds
        newest = await self.store.edge(symbol, timeframe, newest=True)
        oldest = await self.store.edge(symbol, timeframe, newest=False)
        last_minute = newest if timeframe == "1m" else \
            await self.store.edge(symbol, "1m", newest=True)
        if newest is None or oldest is None:
            ranges = [(window, current)]
        else:
            ranges = [(window, oldest.start - seconds)] if oldest.start > window else []
            if newest.start < current:
                ranges.append((newest.start, current))
        added = 0
        for low, high in ranges:
            async with asyncio.timeout(self.timeout):
                bars = await source.bars(symbol, timeframe, low, high, last_minute)
            added += await self._keep(symbol, timeframe, bars, low, high, current)
        return added

    async def _keep(self, symbol: str, timeframe: str, bars: list[Candle], low: int, high: int,
                    current: int) -> int:
        """Store the closed bars within [low, high]; hand the current period's to the hub."""
        seconds = TIMEFRAMES[timeframe]
        bars = [bar for bar in bars if low <= bar.start <= high and bar.start % seconds == 0]
        closed = [bar for bar in bars if bar.start < current]
        for bar in bars:
            if bar.start == current:
                self.hub.merge_candle(symbol, timeframe, bar)
        return await self.store.insert_history(symbol, timeframe, closed)
