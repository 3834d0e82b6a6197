"""Candles kept in the database: written from the hub, backfilled from the sources,
read a page at a time.

One process writes (the one that runs the feeds: a lone server, or a cluster's
leader): its recorder writes the hub's changed candles every few seconds
(feeds/recorder.py) and its backfiller fills the past (feeds/backfill.py). Every
process reads: the stored candles, overlaid with what its own memory holds
that is newer (the current candle, and any not written yet).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from config.settings import CandleSettings
from feeds.backfill import Backfiller
from feeds.base import HistorySource
from feeds.hub import PriceHub
from feeds.recorder import CandleRecorder
from store.candles import CandleStore
from trading.candles import Candle, overlay

log = logging.getLogger(__name__)


class CandleKeeper:
    def __init__(self, hub: PriceHub, sources: dict[str, HistorySource],
                 settings: CandleSettings, clock: Callable[[], datetime]) -> None:
        self.hub, self.settings, self.clock = hub, settings, clock
        self.sources = sources if settings.backfill else {}
        self.store: CandleStore | None = None
        self.recorder: CandleRecorder | None = None
        self.backfill: Backfiller | None = None
        self.writing = False

    def attach(self, store: CandleStore) -> None:
        """Use this store (once the database is open)."""
        self.store = store
        self.recorder = CandleRecorder(self.hub, store, self.settings.flush_interval)
        self.backfill = Backfiller(self.hub, store, self.sources, self.clock,
                                   self.settings.backfill_timeout)

    def start_writing(self) -> None:
        """Become the process that writes candles and fills the past."""
        if self.recorder is None or self.backfill is None or self.writing:
            return
        self.writing = True
        self.recorder.start()
        self.backfill.start()

    async def stop_writing(self) -> None:
        """Stop filling, and write what is left."""
        if not self.writing or self.recorder is None or self.backfill is None:
            return
        self.writing = False
        await self.backfill.stop()
        await self.recorder.stop()

    async def aclose(self) -> None:
        """Stop writing, and any fill a request started; release the sources."""
        await self.stop_writing()
        if self.backfill is not None:
            await self.backfill.stop()
        for source in {id(source): source for source in self.sources.values()}.values():
            await source.aclose()

    async def page(self, symbol: str, timeframe: str, low: int, high: int, limit: int,
                   forward: bool) -> tuple[list[Candle], bool]:
        """Up to limit candles starting within [low, high] (epoch seconds), oldest first:
        the oldest of the range if forward, else the newest. Says whether more lie
        beyond the page in that direction.

        A symbol and timeframe not filled yet is filled first (waiting a bounded time).
        """
        if self.backfill is not None:
            await self.backfill.wait(symbol, timeframe, self.settings.backfill_wait)
        stored = [] if self.store is None else await self.store.window(
            symbol, timeframe, low, high, limit + 1, newest_first=not forward)
        merged = {candle.start: candle for candle in stored}
        pending = [] if self.recorder is None else self.recorder.pending(symbol, timeframe)
        for candle in [*pending, *self.hub.memory(symbol, timeframe)]:
            if low <= candle.start <= high:
                known = merged.get(candle.start)
                merged[candle.start] = candle.copy() if known is None else overlay(known, candle)
        ordered = sorted(merged.values(), key=lambda candle: candle.start, reverse=not forward)
        page = ordered[:limit]
        if not forward:
            page.reverse()
        return page, len(ordered) > limit
