"""The news context: the feeds, the poller and its push, built from the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from feeds.news import NewsFeed
from handlers import keys
from handlers.news import NewsPush
from services.news import NewsPoller, Source
from trading.news import Tagger


async def news(app: web.Application) -> AsyncIterator[None]:
    """Fetch the configured feeds while NEWS_ENABLED: a lone process from the start, in
    a cluster the leader (services/leader.py starts and stops it)."""
    settings = app[keys.SETTINGS].news
    if not settings.enabled or not settings.feeds:
        app[keys.NEWS] = None
        yield
        return
    universe = app[keys.MARKET].universe
    tagger = Tagger((i.symbol, i.rules.base_asset) for i in universe.instruments.values())
    sources: list[Source] = [NewsFeed(name, url, timeout=settings.timeout,
                                      max_bytes=settings.max_bytes)
                             for name, url in settings.feeds]
    poller = NewsPoller(sources, app[keys.STORE].news, tagger, NewsPush(app[keys.SIO]),
                        app[keys.CLOCK], settings)
    app[keys.NEWS] = poller
    if app[keys.REDIS] is None:
        poller.start()
    try:
        yield
    finally:
        await poller.stop()
