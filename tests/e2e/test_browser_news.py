"""The page's news panel in headless Chromium: stored headlines, then one pushed live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.e2e.test_browser_page import BROWSER_CLIENT, Driver, needs_browser
from tests.e2e.test_news import eventually, listing, with_news
from tests.news_feeds import NewsSite, Story
from tests.support import PASSWORD


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    async with NewsSite() as news_site:
        yield news_site


@needs_browser
async def test_the_news_panel_shows_headlines_as_text_and_adds_pushed_ones(
        site, servers, settings, clock) -> None:  # type: ignore[no-untyped-def]
    channel = site.add("coindesk", "rss", Story(
        "<b>Bitcoin</b> ETF inflows <script>alert(1)</script>", "https://news.example/etf",
        clock.now, "<img src=x onerror=alert(1)>Funds <i>bought</i>"))
    site.add("markets", "atom", Story("BTC &lt;img src=x onerror=alert(2)&gt; miners sell",
                                      "javascript:alert(3)", clock.now.replace(second=0)))
    api = await servers.start(with_news(settings, site, "coindesk", "markets"))
    await eventually(lambda: listing(api), lambda body: len(body["news"]) == 2)
    process = await asyncio.create_subprocess_exec(
        "node", "tests/news-panel.mjs", api.url, "news@example.com", PASSWORD,
        cwd=BROWSER_CLIENT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    driver = Driver(process)
    try:
        await driver.reached("loaded")
        channel.stories.insert(0, Story("Bitcoin hashrate record", "https://news.example/hash",
                                        clock.now))
        driver.go()
        output = await driver.finish()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert "news: Bitcoin ETF inflows | https://news.example/etf" in output
    assert "news: BTC miners sell | no link" in output
    assert "scripts in the panel: 0" in output
    assert "pushed: Bitcoin hashrate record | https://news.example/hash" in output
    assert output.rstrip().endswith("done")
