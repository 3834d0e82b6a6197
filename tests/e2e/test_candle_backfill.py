"""The past of every symbol, filled at start-up and on a first request: from a local
server speaking Binance's klines protocol, from an injected Yahoo fetch, and from the
simulator's seed. A slow or failing source holds up neither the start nor a request."""

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from pymongo import MongoClient

from feeds.binance import BinanceFeed
from feeds.history import BinanceKlines
from feeds.yahoo import YFinanceFeed
from handlers import keys
from tests.klines import FakeKlines
from trading.candles import BACKFILL_DEPTH, TIMEFRAMES, Candle, period_start
from trading.market import Universe


def configured(settings, symbols: str, seed: int | None = None, **candles):
    market = settings.market
    return replace(settings, market=replace(
        market, symbols=symbols, sim_seed=seed,
        candles=replace(market.candles, **candles)))


async def started_backfill(api) -> None:
    """Wait until the start-up backfill has been through every symbol."""
    await asyncio.wait(api.app[keys.MARKET].candles.backfill.startup, timeout=20)


async def every_candle(api, symbol: str, timeframe: str) -> list[dict]:
    """Every candle of a symbol and timeframe, page by page (pages of 1,000 at most)."""
    pages, cursor = [], None
    for _ in range(20):
        params = {"timeframe": timeframe, "limit": "1000", **({"cursor": cursor} if cursor
                                                              else {})}
        status, body = await api.call("GET", f"/api/v1/market/candles/{symbol}", params=params)
        assert status == 200, body
        pages.insert(0, body["candles"])
        if (cursor := body["next_cursor"]) is None:
            return [candle for page in pages for candle in page]
    raise AssertionError("too many pages")


@pytest.fixture
async def fake():
    async with FakeKlines() as server:
        yield server


def binance_feed(fake: FakeKlines, spec="binance:BTC-USDT,ETHUSDT", timeout=5.0) -> BinanceFeed:
    instruments = Universe.parse(spec).from_source("binance")
    return BinanceFeed(instruments, url=fake.url.replace("http", "ws"),
                       history=BinanceKlines(instruments, url=fake.url, max_rate=1000,
                                             timeout=timeout))


async def test_binance_symbols_are_filled_at_start_up_in_every_timeframe(
        servers, settings, fake, clock):
    api = await servers.start(configured(settings, "binance:BTC-USDT,ETHUSDT"),
                              feeds=[binance_feed(fake)])
    await started_backfill(api)
    now = clock().timestamp()
    for timeframe, seconds in TIMEFRAMES.items():
        got = await every_candle(api, "BTC-USDT", timeframe)
        current = period_start(now, seconds)
        assert [c["t"] // 1000 for c in got] == [
            current - n * seconds for n in range(BACKFILL_DEPTH[timeframe], -1, -1)]
    assert {r["symbol"] for r in fake.requests} == {"BTCUSDT", "ETHUSDT"}
    assert len(fake.asked("1m")) == 4  # a day of minutes: two pages a symbol
    day = await every_candle(api, "ETHUSDT", "1m")
    assert len(day) >= 1440  # the chart opens on a day of history
    assert (day[0]["ticks"], day[0]["o"]) == (42, str(100 + day[0]["t"] // 60_000 % 50))
    # A restart asks only for what is missing since.
    await servers.stop(api)
    fake.requests.clear()
    clock.advance(timedelta(minutes=5))
    again = await servers.start(configured(settings, "binance:BTC-USDT,ETHUSDT"),
                                feeds=[binance_feed(fake)])
    await started_backfill(again)
    minutes = fake.asked("1m")
    assert len(minutes) == 2 and all(
        int(r["endTime"]) - int(r["startTime"]) <= 6 * 60_000 for r in minutes)
    assert len(await every_candle(again, "BTC-USDT", "1m")) == 1441 + 5


async def test_a_stalled_source_holds_up_neither_the_start_nor_a_request(
        servers, settings, fake, caplog):
    fake.mode = "stall"
    loop = asyncio.get_running_loop()
    began = loop.time()
    api = await servers.start(configured(settings, "binance:BTCUSDT", backfill_timeout=0.5,
                                         backfill_wait=0.2),
                              feeds=[binance_feed(fake, "binance:BTCUSDT", timeout=30)])
    assert loop.time() - began < 3
    asked = loop.time()
    status, body = await api.call("GET", "/api/v1/market/candles/BTCUSDT?timeframe=1h")
    assert (status, body["candles"]) == (200, [])
    assert loop.time() - asked < 1.5
    await started_backfill(api)  # every fill gave up after its timeout
    assert "no candle history from binance for BTCUSDT" in caplog.text
    asked = len(fake.requests)
    status, _ = await api.call("GET", "/api/v1/market/candles/BTCUSDT?timeframe=1m")
    assert status == 200  # a failed fill is not tried again at once
    assert len(fake.requests) == asked and not api.app[keys.MARKET].candles.backfill.tasks


@pytest.mark.parametrize("mode", ["fail", "huge", "junk"])
async def test_a_failing_source_leaves_what_is_stored_and_says_why(
        servers, settings, fake, caplog, mode):
    fake.mode = mode
    caplog.set_level(logging.WARNING)
    api = await servers.start(configured(settings, "binance:BTCUSDT"),
                              feeds=[binance_feed(fake, "binance:BTCUSDT")])
    await started_backfill(api)
    status, body = await api.call("GET", "/api/v1/market/candles/BTCUSDT")
    assert status == 200
    if mode == "junk":  # bad rows skipped, the good ones kept
        assert len(body["candles"]) == 100 and "malformed Binance klines" in caplog.text
    else:
        assert body["candles"] == [] and "no candle history from binance for BTCUSDT 1m" in (
            caplog.text)
        assert caplog.text.count("no candle history") == 1  # once for the source


async def test_yahoo_symbols_are_filled_from_the_injected_history_call(servers, settings, clock):
    calls = []

    def history(symbol, interval, start, end):
        calls.append((symbol, interval))
        step = {"1m": 60, "5m": 300, "15m": 900, "60m": 3600, "1d": 86400}[interval]
        first = int(start.timestamp()) // step * step
        return [Candle(t, Decimal(10), Decimal(11), Decimal(9), Decimal("10.5"), 0)
                for t in range(first, int(end.timestamp()), step)]

    instruments = Universe.parse("yfinance:AAPL,^NSEI").from_source("yfinance")
    feed = YFinanceFeed(instruments, interval=3600, max_rate=1000, fetch=lambda symbols: {},
                        history=history)
    api = await servers.start(configured(settings, "yfinance:AAPL,^NSEI"), feeds=[feed])
    await started_backfill(api)
    assert [interval for symbol, interval in calls if symbol == "AAPL"] == [
        "1m", "5m", "15m", "60m", "60m", "1d"]
    four = await every_candle(api, "%5ENSEI", "4h")
    assert len(four) == BACKFILL_DEPTH["4h"] + 1
    assert (four[0]["o"], four[0]["h"], four[0]["l"], four[0]["c"]) == ("10", "11", "9", "10.5")
    assert len(await every_candle(api, "AAPL", "1m")) >= 1440


async def sim_history(servers, settings, db_name: str) -> list[dict]:
    api = await servers.start(configured(replace(settings, mongo_db=db_name), "sim:AAA=100",
                                         seed=5), feeds=None)
    await started_backfill(api)
    got = await every_candle(api, "AAA", "1m")
    await servers.stop(api)
    return got


async def test_the_simulators_past_is_the_same_for_the_same_seed_and_clock(
        servers, settings, clock, mongo_uri):
    minute = period_start(clock().timestamp(), 60) * 1000
    first = await sim_history(servers, settings, settings.mongo_db)
    other = f"{settings.mongo_db}_again"
    try:
        second = await sim_history(servers, settings, other)
    finally:
        client: MongoClient[dict] = MongoClient(mongo_uri)
        client.drop_database(other)
        client.close()
    past = [c for c in first if c["t"] < minute]
    assert len(past) == 2 * 1440  # two days: the chart opens with at least one
    assert past == [c for c in second if c["t"] < minute]
    assert past[-1]["c"] == "100"  # the past ends at the start price
    live = [c for c in first if c["t"] >= minute]
    assert [c["t"] for c in live] == [minute]
    assert abs(Decimal(live[0]["o"]) - 100) < 1  # the first live price is a tick away


async def test_after_a_restart_the_simulators_past_joins_what_was_stored(
        servers, settings, clock):
    symbols = "sim:AAA=100"
    api = await servers.start(configured(settings, symbols, seed=5), feeds=None)
    await started_backfill(api)
    await servers.stop(api)
    stored = await every_candle_of(servers, settings, clock)
    minute = period_start(clock().timestamp(), 60)
    [last_run] = [c for c in stored if c["t"] == minute * 1000]
    clock.advance(timedelta(hours=1))
    again = await servers.start(configured(settings, symbols, seed=5), feeds=None)
    await started_backfill(again)
    got = {c["t"] // 1000: c for c in await every_candle(again, "AAA", "1m")}
    bridge = [got[minute + 60 * n] for n in range(1, 60)]
    assert bridge[0]["o"] == last_run["c"]  # no jump where the earlier run stopped
    assert bridge[-1]["c"] == "100"  # and it ends at the start price
    assert all(a["c"] == b["o"] for a, b in pairwise(bridge))


async def every_candle_of(servers, settings, clock) -> list[dict]:
    api = await servers.start(configured(settings, "sim:AAA=100", seed=5, backfill=False))
    try:
        return await every_candle(api, "AAA", "1m")
    finally:
        await servers.stop(api)
