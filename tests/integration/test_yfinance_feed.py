"""The yfinance adapter with its fetch calls injected (no network)."""

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

from feeds.base import Backoff
from feeds.yahoo import YFinanceFeed
from tests.support import until
from tests.unit.test_hub_and_feeds import Recorder
from trading.market import Universe

universe = Universe.parse("yfinance:AAPL,^NSEI")
AT = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def yahoo(fetch, **options) -> YFinanceFeed:
    options.setdefault("interval", 0.01)
    options.setdefault("max_rate", 1000)
    return YFinanceFeed(universe.from_source("yfinance"), fetch=fetch,
                        backoff=Backoff(first=0.01, most=0.02), **options)


async def test_polled_prices_become_quotes_with_the_price_time():
    calls: list[list[str]] = []

    def fetch(symbols):
        calls.append(symbols)
        return {"AAPL": (Decimal("190.12"), AT), "^NSEI": (Decimal("22050.5"), AT),
                "NOT-ASKED": (Decimal(1), AT)}

    sink = Recorder()
    task = asyncio.create_task(yahoo(fetch).run(sink))
    await sink.wait_for(quotes=4)
    task.cancel()
    assert calls[0] == ["AAPL", "^NSEI"]  # one batched request for all symbols
    assert {(q.symbol, q.price, q.ts, q.source) for q in sink.quotes} == {
        ("AAPL", Decimal("190.12"), AT, "yfinance"), ("^NSEI", Decimal("22050.5"), AT, "yfinance")}


async def test_fetch_errors_back_off_and_polling_recovers(caplog):
    failures = iter([RuntimeError("Yahoo said 429"), OSError("reset")])

    def fetch(symbols):
        error = next(failures, None)
        if error is not None:
            raise error
        return {"AAPL": (Decimal(190), AT)}

    feed = yahoo(fetch)
    sink = Recorder()
    with caplog.at_level(logging.INFO, logger="feeds.yahoo"):
        task = asyncio.create_task(feed.run(sink))
        await sink.wait_for(quotes=1)
    task.cancel()
    assert feed.requests >= 3  # two failures, then a success
    # One line when it went down and one when it came back, not one per failure.
    assert [(r.levelname, r.getMessage()[:60]) for r in caplog.records] == [
        ("WARNING", "Yahoo Finance prices are down (RuntimeError: Yahoo said 429)"),
        ("INFO", "Yahoo Finance prices are back after 0 s (2 failed attempts)")]


async def test_requests_are_spaced_to_the_configured_rate():
    stamps: list[float] = []

    def fetch(symbols):
        stamps.append(time.monotonic())
        return {}

    task = asyncio.create_task(yahoo(fetch, interval=0, max_rate=20).run(Recorder()))
    await until(lambda: len(stamps) >= 5)
    task.cancel()
    # 20 per second at most. The limiter spaces the calls' starts; each stamp is taken
    # in a worker thread, whose start jitters by a few ms either way, so what holds
    # exactly is the span of several calls, less one thread's jitter.
    span = stamps[-1] - stamps[0]
    assert span >= (len(stamps) - 1) * 0.05 - 0.01, stamps


async def test_blocking_fetches_run_off_the_event_loop():
    release = threading.Event()

    def slow_fetch(symbols):
        release.wait(5)  # a blocking HTTP call
        return {"AAPL": (Decimal(1), AT)}

    sink = Recorder()
    task = asyncio.create_task(yahoo(slow_fetch).run(sink))
    # The loop keeps running while the fetch blocks its thread.
    for _ in range(10):
        await asyncio.sleep(0.01)
    assert not sink.quotes
    release.set()
    await sink.wait_for(quotes=1)
    task.cancel()
