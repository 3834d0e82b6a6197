"""News: each configured feed fetched on its own schedule, new headlines stored and pushed.

One task per feed. A fetch that works stores the headlines not seen before
(deduplicated by link and title, store/news.py), hands the new ones to the push
(sockets subscribed to the symbols they mention), notes the feed as ok, and
waits NEWS_POLL_INTERVAL. One that fails notes the error, keeps every stored
headline, and waits a backoff that grows up to four intervals (or what the
source asked for in Retry-After). A feed going down is logged once, and once
more when it is back. With several processes only the leader runs this
(services/leader.py); every process reads the stored headlines and states.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from config.settings import NewsSettings
from feeds.base import Backoff
from feeds.news import NewsError
from store.news import NewsStore, SourceState
from trading.news import Headline, Tagger

log = logging.getLogger(__name__)

# New headlines pushed from one fetch of one feed at most (the rest are stored), and
# how recent they must be (a first fetch stores a feed's backlog without pushing it).
MAX_PUSHED = 20
PUSH_WITHIN = timedelta(days=1)
# A feed that has not worked for this many intervals makes the headlines stale.
STALE_INTERVALS = 3

Clock = Callable[[], datetime]
Push = Callable[[list[Headline]], Awaitable[None]]


class Source(Protocol):
    name: str

    async def fetch(self, tagger: Tagger, now: datetime) -> list[Headline]: ...

    async def aclose(self) -> None: ...


class NewsPoller:
    """Fetches every feed in a loop of its own while started."""

    def __init__(self, sources: list[Source], store: NewsStore, tagger: Tagger, push: Push,
                 clock: Clock, settings: NewsSettings) -> None:
        self.sources, self.store, self.tagger = sources, store, tagger
        self.push, self.clock, self.settings = push, clock, settings
        self.down: dict[str, str] = {}  # feeds whose last fetch failed, with why
        self.fetches = 0
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if self._tasks:
            return
        self._tasks = [asyncio.create_task(self._follow(source), name=f"news:{source.name}")
                       for source in self.sources]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for source in self.sources:
            await source.aclose()

    async def _follow(self, source: Source) -> None:
        interval = self.settings.poll_interval
        backoff = Backoff(first=min(5.0, interval), most=interval * 4)
        while True:
            wait = interval
            try:
                await self.poll(source)
                backoff.reset()
            except NewsError as exc:
                wait = max(backoff.next_delay(), exc.retry_after or 0.0)
            except Exception:  # the database, or a bug: logged, and tried again later
                log.exception("news feed %s: could not store its headlines", source.name)
                wait = backoff.next_delay()
            await asyncio.sleep(wait)

    async def poll(self, source: Source) -> list[Headline]:
        """Fetch one feed once; store, push and return its new headlines. Raises
        NewsError (after noting it) when the feed cannot be read."""
        self.fetches += 1
        try:
            found = await source.fetch(self.tagger, self.clock())
        except NewsError as exc:
            await self._failed(source.name, str(exc))
            raise
        new = await self.store.add(found, self.clock(), self.settings.retention)
        await self.store.record(source.name, self.clock(), None)
        if self.down.pop(source.name, None) is not None:
            log.info("news feed %s is back", source.name)
        recent = [h for h in new if h.published_at >= self.clock() - PUSH_WITHIN]
        if recent:  # the newest MAX_PUSHED, sent oldest first (a page puts each on top)
            await self.push(recent[:MAX_PUSHED][::-1])
        return new

    async def _failed(self, name: str, why: str) -> None:
        if name not in self.down:
            log.warning("news feed %s is down: %s", name, why)
        self.down[name] = why
        with contextlib.suppress(Exception):  # the state is best-effort; the log said it
            await self.store.record(name, self.clock(), why)


def freshness(configured: list[str], states: dict[str, SourceState], settings: NewsSettings,
              now: datetime) -> tuple[bool, list[dict[str, Any]]]:
    """Whether the headlines are stale, and each configured feed's state.

    Stale: fetching is off (NEWS_ENABLED), or a feed's last fetch failed, or none
    of its fetches worked within STALE_INTERVALS intervals (its poller may have
    stopped).
    """
    horizon = settings.poll_interval * STALE_INTERVALS
    stale, shown = not settings.enabled, []
    for name in configured:
        state = states.get(name)
        last = None if state is None else state.last_success
        ok = (settings.enabled and state is not None and state.ok and last is not None
              and (now - last).total_seconds() <= horizon)
        stale = stale or not ok
        view: dict[str, Any] = {
            "name": name, "ok": ok,
            "last_success": None if last is None
            else last.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")}
        if not settings.enabled:
            view["error"] = "news fetching is off"
        elif state is not None and state.error:
            view["error"] = state.error
        elif not ok:
            view["error"] = "not fetched yet" if last is None else "not fetched recently"
        shown.append(view)
    return stale, shown
