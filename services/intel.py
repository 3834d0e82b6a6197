"""Market intelligence: the token screener, the Fear & Greed indices and recommendations.

One poller per source (feeds/intel.py) runs in the process that polls: a lone
process, or the cluster's leader. Each keeps its source's last value in memory and
in the database (store/intel.py); the other processes read the stored value every
RELOAD_EVERY seconds. A source that fails leaves its last value, served with
``stale: true`` and the failure in ``error``, and is retried with back-off (never
sooner than a 429's Retry-After); its going down and coming back are logged once
each. A value restored at start-up is stale until it is refreshed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pymongo.errors import PyMongoError

from config.intel import IntelSettings
from feeds.base import Backoff
from feeds.intel import Source as Source
from feeds.intel import SourceError
from services.intel_views import (
    INDEX_OF,
    INDEX_SOURCES,
    index_view,
    series_from_doc,
    series_to_doc,
    token_view,
    tokens_from_doc,
    tokens_to_doc,
)
from store.database import stored_time
from store.intel import IntelStore
from trading.intel import (
    INDEX_SYMBOLS,
    Backing,
    IndexSeries,
    Reading,
    Sort,
    Thresholds,
    Token,
    recommend,
    screen,
)

log = logging.getLogger(__name__)

RELOAD_EVERY = 5.0  # seconds between a non-polling process's reads of the stored values
STALE_AFTER_POLLS = 3  # a value older than this many poll intervals is stale
CACHED_ANSWERS = 128  # screener answers kept, by query

Notify = Callable[[dict[str, Any]], Awaitable[None]]
OnReading = Callable[[str, Reading], Awaitable[object]]


@dataclass(slots=True)
class Cached:
    """A source's last value and its last attempt."""

    value: Any = None  # list[Token] (coingecko) or IndexSeries (fng, cnn)
    fetched_at: datetime | None = None
    error: str | None = None
    checked_at: datetime | None = None
    restored: bool = False  # read from the database, not refreshed since this start
    version: int | None = None  # of the stored value read last


class IntelService:
    def __init__(self, settings: IntelSettings, sources: list[Source], store: IntelStore,
                 funds: dict[str, list[Backing]], links: dict[str, str],
                 stocks: list[str], clock: Callable[[], datetime],
                 leading: Callable[[], bool]) -> None:
        self.settings = settings
        self.sources = {source.name: source for source in sources}
        self.store = store
        self.funds = funds
        self.fund_names = {b.fund.casefold(): b.fund for f in funds.values() for b in f}
        self.links = links  # token symbol (lower case) -> configured trading symbol
        self.stocks = stocks  # configured stock symbols CNN's index speaks for
        self.clock = clock
        self.leading = leading
        self.thresholds = Thresholds(settings.buy_below, settings.sell_above)
        self.cache = {name: Cached() for name in ("coingecko", "fng", "cnn")}
        self.notify: list[Notify] = []  # called with an index's view when it changes
        self.on_reading: list[OnReading] = []  # called with an index's new latest reading
        self.answers: dict[tuple[Any, ...], bytes] = {}
        self.token_views: list[tuple[Token, dict[str, Any]]] = []
        self.up: dict[str, bool] = {}
        self.backoff = {name: Backoff(first=min(30.0, self._interval(name)),
                                      most=self._interval(name)) for name in self.sources}
        self.tasks: list[asyncio.Task[None]] = []
        self.started_at = stored_time(clock())  # polls stored from here on are this run's

    def _interval(self, name: str) -> float:
        return (self.settings.screener_interval if name == "coingecko"
                else self.settings.sentiment_interval)

    # -- running ---------------------------------------------------------------

    async def start(self) -> None:
        """Serve the stored values (stale until refreshed), then poll or read."""
        for name in self.cache:
            with contextlib.suppress(PyMongoError):
                await self._reload(name, restored=True)
        self.tasks = [asyncio.create_task(self._run(name), name=f"intel:{name}")
                      for name in self.sources]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for source in self.sources.values():
            await source.aclose()

    async def _run(self, name: str) -> None:
        loop = asyncio.get_running_loop()
        next_at = 0.0
        while True:
            delay = RELOAD_EVERY
            try:
                if self.leading():
                    if loop.time() >= next_at:
                        next_at = loop.time() + await self.refresh(name)
                    delay = max(0.0, min(RELOAD_EVERY, next_at - loop.time()))
                else:
                    await self._reload(name, restored=False)
            except PyMongoError as exc:
                log.warning("could not read the stored %s value: %s", name, type(exc).__name__)
            except Exception:
                log.exception("the %s poller failed", name)
                next_at = loop.time() + self.backoff[name].next_delay()
            await asyncio.sleep(delay)

    async def refresh(self, name: str) -> float:
        """Poll one source now; the seconds until it should be polled again."""
        source, cached = self.sources[name], self.cache[name]
        before = self._stale(name)
        now = stored_time(self.clock())
        try:
            value = await source.fetch()
        except SourceError as exc:
            cached.error, cached.checked_at = str(exc), now
            if self.up.get(name, True):
                log.warning("%s is down: %s; its last value, if any, is served as stale", name,
                            exc)
            self.up[name] = False
            await self._save(name, None, cached.error, now)
            await self._changed(name, before, None)
            return max(self.backoff[name].next_delay(), exc.retry_after or 0.0)
        if not self.up.get(name, True):
            log.warning("%s is back", name)
        self.up[name] = True
        self.backoff[name].reset()
        previous = cached.value
        cached.value, cached.fetched_at, cached.error = value, now, None
        cached.checked_at, cached.restored = now, False
        self._rebuild(name)
        await self._save(name, self._to_doc(name, value), None, now)
        await self._changed(name, before, previous)
        return self._interval(name)

    async def _save(self, name: str, value: Any, error: str | None, now: datetime) -> None:
        """Store a poll's outcome; a database that does not answer loses only that (the
        value is served from memory, and the next poll stores again)."""
        try:
            await self.store.save(name, value, now if value is not None else None, error, now)
        except PyMongoError as exc:
            log.warning("could not store the %s value: %s", name, type(exc).__name__)

    async def _reload(self, name: str, *, restored: bool) -> None:
        """Take the stored value (written by this process before, or by the leader)."""
        doc = await self.store.load(name)
        if doc is None:
            return
        cached = self.cache[name]
        if doc.get("checked_at") != cached.checked_at:
            self.answers.clear()
        version = doc.get("version")
        if doc.get("value") is not None and version != cached.version:
            try:
                cached.value = self._from_doc(name, doc["value"])
            except (ValueError, TypeError, KeyError, IndexError, ArithmeticError):
                log.warning("the stored %s value is unreadable; ignored", name)
                return
            cached.fetched_at, cached.version = doc.get("fetched_at"), version
            self._rebuild(name)
        cached.error, cached.checked_at = doc.get("error"), doc.get("checked_at")
        cached.restored = restored or cached.restored

    @staticmethod
    def _to_doc(name: str, value: Any) -> Any:
        return tokens_to_doc(value) if name == "coingecko" else series_to_doc(value)

    @staticmethod
    def _from_doc(name: str, doc: Any) -> Any:
        return tokens_from_doc(doc) if name == "coingecko" else series_from_doc(doc)

    def _rebuild(self, name: str) -> None:
        self.answers.clear()
        if name == "coingecko":
            self.token_views = [(token, token_view(token, self.funds.get(token.id, []),
                                                   self.links.get(token.symbol)))
                                for token in self.cache[name].value]

    async def _changed(self, name: str, was_stale: bool, previous: Any) -> None:
        """Tell the subscribers when an index's latest reading or staleness changed."""
        self.answers.clear()
        if name == "coingecko":
            return
        value = self.cache[name].value
        moved = value is not None and (previous is None or previous.latest != value.latest)
        if not moved and was_stale == self._stale(name):
            return
        view = self.index(INDEX_OF[name], days=0)
        for notify in self.notify:
            try:
                await notify(view)
            except Exception:
                log.exception("could not push the %s index", name)
        if moved:
            for hook in self.on_reading:
                try:
                    await hook(INDEX_OF[name], value.latest)
                except Exception:
                    log.exception("could not check alerts on the %s index", name)

    def _stale(self, name: str) -> bool:
        """No value, a failed last poll, a value older than STALE_AFTER_POLLS intervals, or
        (in the process that polls) one restored at start-up and not refreshed since. A
        process that does not poll trusts the poller's record of the stored value."""
        cached = self.cache[name]
        if cached.value is None or cached.error is not None:
            return True
        if cached.restored and (self.leading() or name not in self.sources):
            return True
        age = self.clock() - (cached.fetched_at or self.clock())
        return age > timedelta(seconds=self._interval(name) * STALE_AFTER_POLLS)

    def _status(self, name: str) -> dict[str, Any]:
        cached = self.cache[name]
        error = cached.error
        if name not in self.sources:  # a value stored before it was turned off stays stale
            error = "This source is turned off (INTEL_SOURCES)."
        elif cached.value is None and error is None:
            error = "Not fetched yet."
        return {"source": name, "stale": self._stale(name), "error": error,
                "updated_at": None if cached.fetched_at is None
                else cached.fetched_at.isoformat()}

    # -- answers ---------------------------------------------------------------

    def screener(self, min_market_cap: Decimal | None, sort: Sort, backed_by: str | None,
                 limit: int) -> bytes:
        """The screener's answer as JSON bytes (kept per query until the next change)."""
        minimum = self.settings.min_market_cap if min_market_cap is None else min_market_cap
        fund = None if backed_by is None else self.fund_names.get(backed_by.casefold())
        key = (minimum, sort, fund, limit, self._stale("coingecko"))
        if (answer := self.answers.get(key)) is not None:
            return answer
        views = dict((id(token), view) for token, view in self.token_views)
        chosen = screen([token for token, _ in self.token_views], min_market_cap=minimum,
                        sort=sort, backed_by=fund, funds=self.funds, limit=limit)
        answer = json.dumps({
            "tokens": [views[id(token)] for token in chosen], "count": len(chosen),
            "min_market_cap": format(minimum, "f"), "sort": sort.value, "backed_by": fund,
            **self._status("coingecko")}, ensure_ascii=False).encode()
        if len(self.answers) >= CACHED_ANSWERS:
            self.answers.pop(next(iter(self.answers)))
        self.answers[key] = answer
        return answer

    def level(self, symbol: str) -> Decimal | None:
        """An index's latest value by its alert symbol (FNG:crypto), if it has one."""
        index = INDEX_SYMBOLS.get(symbol)
        series = None if index is None else self.cache[INDEX_SOURCES[index]].value
        return None if series is None else series.latest.value

    def known_fund(self, name: str) -> bool:
        return name.casefold() in self.fund_names

    def index(self, index: str, days: int) -> dict[str, Any]:
        """One index's latest reading, status and the readings of the last days."""
        name = INDEX_SOURCES[index]
        return index_view(index, self.cache[name].value, self._status(name), self.clock(),
                          days)

    def sentiment(self, days: int) -> dict[str, Any]:
        return {"indices": {index: self.index(index, days) for index in INDEX_SOURCES}}

    def recommendations(self) -> dict[str, Any]:
        """BUY, SELL or HOLD from each index: the crypto index for the screener's tokens,
        CNN's for the configured stocks."""
        items: list[dict[str, Any]] = []
        indices = {}
        for index, name in INDEX_SOURCES.items():
            series: IndexSeries | None = self.cache[name].value
            status = self._status(name)
            indices[index] = {**self.index(index, 0), "action": None, "reason": None}
            if series is None:
                continue
            action, reason = recommend_from(index, series.latest, self.thresholds)
            indices[index].update(action=action, reason=reason)
            if index == "crypto":
                assets = [(t.id, t.symbol.upper(), t.name, self.links.get(t.symbol))
                          for t in screen([t for t, _ in self.token_views],
                                          min_market_cap=self.settings.min_market_cap,
                                          sort=Sort.MARKET_CAP, backed_by=None, funds={},
                                          limit=self.settings.screener_tokens)]
            else:
                assets = [(symbol, symbol, symbol, symbol) for symbol in self.stocks]
            items += [{"asset": asset, "ticker": ticker, "name": label, "symbol": link,
                       "index": index, "action": action, "reason": reason,
                       "stale": status["stale"]} for asset, ticker, label, link in assets]
        return {"thresholds": {"buy_below": float(self.thresholds.buy_below),
                               "sell_above": float(self.thresholds.sell_above)},
                "indices": indices, "recommendations": items}


def recommend_from(index: str, latest: Reading, thresholds: Thresholds) -> tuple[str, str]:
    action, reason = recommend(index, latest, thresholds)
    return action.value, reason
