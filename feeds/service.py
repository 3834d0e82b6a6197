"""Builds the configured feeds around one price hub and keeps them running."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from datetime import datetime

from config.settings import ConfigError, MarketSettings
from feeds.base import Backoff, Feed, HistorySource, Sink
from feeds.binance import BinanceFeed
from feeds.calendars import MarketHours
from feeds.candles import CandleKeeper
from feeds.history import BinanceKlines
from feeds.hub import PriceHub
from feeds.replay import ReplayFeed, load_ticks
from feeds.sim import SimFeed
from feeds.yahoo import YFinanceFeed
from store.candles import CandleStore
from trading.market import Universe

log = logging.getLogger(__name__)


def build_universe(settings: MarketSettings) -> Universe:
    try:
        return Universe.parse(settings.symbols)
    except ValueError as exc:
        raise ConfigError(f"MARKET_SYMBOLS: {exc}.") from None


def build_feeds(settings: MarketSettings, universe: Universe,
                clock: Callable[[], datetime], hours: MarketHours | None = None) -> list[Feed]:
    """One feed per source that has symbols configured (the simulator keeps hours)."""
    feeds: list[Feed] = []
    if sim := universe.from_source("sim"):
        seed = settings.sim_seed if settings.sim_seed is not None else secrets.randbits(32)
        feeds.append(SimFeed(sim, seed=seed, volatility=settings.sim_volatility,
                             interval=settings.sim_interval, clock=clock, hours=hours,
                             history_days=settings.candles.sim_history_days))
    if universe.from_source("replay"):
        if settings.replay_file is None:
            raise ConfigError("REPLAY_FILE must name a CSV or JSONL file for replay symbols.")
        try:
            ticks = load_ticks(settings.replay_file, universe)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"REPLAY_FILE: {exc}") from None
        feeds.append(ReplayFeed(ticks, speed=settings.replay_speed, loop=settings.replay_loop,
                                clock=clock))
    if binance := universe.from_source("binance"):
        try:
            feeds.append(BinanceFeed(binance, url=settings.binance_url,
                                     stream=settings.binance_stream,
                                     silence_timeout=settings.binance_silence,
                                     history=BinanceKlines(
                                         binance, url=settings.candles.binance_rest_url,
                                         max_rate=settings.candles.binance_rest_rate,
                                         timeout=settings.candles.backfill_timeout)))
        except ValueError as exc:
            raise ConfigError(f"BINANCE_STREAM: {exc}.") from None
    if yahoo := universe.from_source("yfinance"):
        feeds.append(YFinanceFeed(yahoo, interval=settings.yfinance_interval,
                                  max_rate=settings.yfinance_max_rate,
                                  history_timeout=settings.candles.backfill_timeout))
    return feeds


def history_sources(feeds: list[Feed], universe: Universe) -> dict[str, HistorySource]:
    """Each symbol's source of past candles: the history of the feed that prices it."""
    sources: dict[str, HistorySource] = {}
    for feed in feeds:
        history: HistorySource | None = getattr(feed, "history", None)
        if history is not None:
            sources.update({symbol: history for symbol in history.symbols
                            if symbol in universe})
    return sources


class Market:
    """The universe, its market hours, the hub, and the tasks that feed it and watch for
    staleness."""

    def __init__(self, settings: MarketSettings, clock: Callable[[], datetime],
                 feeds: list[Feed] | None = None) -> None:
        self.universe = build_universe(settings)
        self.hours = MarketHours(self.universe, settings.hours)
        stale_after = {symbol: settings.yfinance_stale_after if i.source == "yfinance"
                       else settings.stale_after
                       for symbol, i in self.universe.instruments.items()}
        self.hub = PriceHub(self.universe, stale_after, clock, self.hours)
        self.feeds = (build_feeds(settings, self.universe, clock, self.hours) if feeds is None
                      else feeds)
        # Candles kept in the database (feeds/candles.py), once start gives it a store.
        self.candles = CandleKeeper(self.hub, history_sources(self.feeds, self.universe),
                                    settings.candles, clock)
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.check_every = min([*stale_after.values(), settings.stale_after]).total_seconds() / 4

    def start(self, run_feeds: bool = True, candles: CandleStore | None = None) -> None:
        """Watch for staleness and, unless another process runs them, run the feeds (and
        write candles to candles, the store)."""
        if candles is not None:
            self.candles.attach(candles)
        if run_feeds:
            self.start_feeds(self.hub)
        self.tasks["staleness"] = asyncio.create_task(self._watch_staleness(), name="staleness")

    def start_feeds(self, sink: Sink) -> None:
        """Run every feed into sink (the hub, or the cluster's tick channel)."""
        for feed in self.feeds:
            self.tasks[feed.name] = asyncio.create_task(self._supervise(feed, sink),
                                                        name=f"feed:{feed.name}")
        self.candles.start_writing()

    async def stop_feeds(self) -> None:
        await self._cancel([self.tasks.pop(feed.name) for feed in self.feeds
                            if feed.name in self.tasks])
        await self.candles.stop_writing()

    async def stop(self) -> None:
        await self._cancel(list(self.tasks.values()))
        self.tasks.clear()
        await self.candles.aclose()

    @staticmethod
    async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _supervise(self, feed: Feed, sink: Sink) -> None:
        """Run a feed; if it crashes, log it and start it again after a pause."""
        backoff = Backoff(first=1.0, most=60.0)
        while True:
            try:
                await feed.run(sink)
                return
            except Exception:
                delay = backoff.next_delay()
                log.exception("%s feed crashed; restarting in %.1f s", feed.name, delay)
                await asyncio.sleep(delay)

    async def _watch_staleness(self) -> None:
        interval = min(max(self.check_every, 0.05), 5.0)
        while True:
            await asyncio.sleep(interval)
            self.hub.check_staleness()
