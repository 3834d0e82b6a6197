"""The candle keeper against the real database: a first request fills the past (in a
process that does not write candles too), within a bound; failed writes are kept."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pymongo.errors import PyMongoError

from config.settings import CandleSettings
from feeds.candles import CandleKeeper
from feeds.history import BinanceKlines
from feeds.hub import PriceHub
from feeds.recorder import CandleRecorder
from store.candles import CandleStore
from store.database import connect, ensure_indexes
from tests.klines import FakeKlines
from tests.support import Clock, quote
from trading.market import Universe

NOW = datetime(2026, 3, 2, 14, 30, 20, tzinfo=UTC)
MINUTE = int(NOW.timestamp()) // 60 * 60
universe = Universe.parse("binance:BTCUSDT;sim:AAA")


@pytest.fixture
async def store(mongo_uri, db_name):
    client = await connect(mongo_uri)
    db = client[db_name]
    await ensure_indexes(db)
    yield CandleStore(db)
    await client.close()


@pytest.fixture
async def fake():
    async with FakeKlines() as server:
        yield server


def keeper(fake, store, **settings) -> CandleKeeper:
    hub = PriceHub(universe, {"BTCUSDT": timedelta(seconds=30), "AAA": timedelta(seconds=30)},
                   Clock(NOW))
    source = BinanceKlines(universe.from_source("binance"), url=fake.url, max_rate=1000,
                           timeout=5)
    made = CandleKeeper(hub, {"BTCUSDT": source}, CandleSettings(**settings), hub.clock)
    made.attach(store)
    return made


async def test_a_first_request_fills_the_symbol_and_timeframe_it_asks_for(fake, store):
    candles = keeper(fake, store)  # not the writing process: no start-up fill
    page, more = await candles.page("BTCUSDT", "1h", 0, 2**40, 10, forward=False)
    assert [c.start for c in page] == [MINUTE // 3600 * 3600 - 3600 * n for n in range(9, -1, -1)]
    assert more and [r["interval"] for r in fake.requests] == ["1h"]
    await candles.page("BTCUSDT", "1h", 0, 2**40, 10, forward=False)
    assert len(fake.requests) == 1  # filled once
    # The current hour's bar went to the hub, where live ticks extend it.
    [current] = candles.hub.memory("BTCUSDT", "1h")
    assert current.start == MINUTE // 3600 * 3600 and not current.partial
    assert await candles.page("AAA", "1h", 0, 2**40, 10, forward=False) == ([], False)
    await candles.aclose()


async def test_a_request_waits_for_a_stalled_fill_only_as_long_as_allowed(fake, store):
    fake.mode = "stall"
    candles = keeper(fake, store, backfill_wait=0.2, backfill_timeout=5)
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await candles.page("BTCUSDT", "1m", 0, 2**40, 10, forward=False) == ([], False)
    assert 0.15 < loop.time() - began < 2.0
    fake.released.set()  # the fill carries on after the request gave up, and lands
    fake.mode = "ok"
    await asyncio.wait(list(candles.backfill.tasks.values()), timeout=5)
    page, _ = await candles.page("BTCUSDT", "1m", 0, 2**40, 10, forward=False)
    assert len(page) == 10
    await candles.aclose()


async def test_candles_a_failed_write_could_not_store_are_kept_and_written_later(
        mongo_uri, db_name, store):
    hub = PriceHub(universe, {"BTCUSDT": timedelta(seconds=30), "AAA": timedelta(seconds=30)},
                   Clock(NOW))
    broken_client = await connect(mongo_uri)
    broken = CandleStore(broken_client[db_name])
    await broken_client.close()  # every write through it now fails
    recorder = CandleRecorder(hub, broken, every=60)
    hub.publish(quote("AAA", "10", NOW))
    with pytest.raises(PyMongoError):
        await recorder.flush()
    hub.publish(quote("AAA", "12", NOW + timedelta(seconds=1)))
    assert [(c.start, c.close) for c in recorder.pending("AAA", "1m")] == [(MINUTE, 10)]
    recorder.store = store
    assert await recorder.flush(everything=True) == 6
    [stored] = await store.window("AAA", "1m", 0, 2**40, 5, newest_first=False)
    assert (stored.open, stored.high, stored.close) == (Decimal(10), Decimal(12), Decimal(12))
    assert recorder.pending("AAA", "1m") == [] and recorder.unsaved == {}


async def test_open_candles_are_rewritten_at_their_timeframes_pace_closed_ones_at_once(store):
    hub = PriceHub(universe, {"BTCUSDT": timedelta(seconds=30), "AAA": timedelta(seconds=30)},
                   Clock(NOW))
    now = [0.0]
    recorder = CandleRecorder(hub, store, every=10, timer=lambda: now[0])
    assert [recorder.open_every[tf] for tf in ("1m", "5m", "15m", "1h", "4h", "1d")] == [
        10, 50, 150, 300, 300, 300]
    hub.publish(quote("AAA", "10", NOW))
    assert await recorder.flush() == 6  # the first flush writes every open candle
    hub.publish(quote("AAA", "11", NOW + timedelta(seconds=1)))
    now[0] = 10
    assert await recorder.flush() == 1  # 1m only
    hub.publish(quote("AAA", "13", NOW + timedelta(seconds=2)))
    now[0] = 50
    assert await recorder.flush() == 2  # 1m and 5m
    hub.publish(quote("AAA", "12", NOW + timedelta(seconds=3)))
    hub.publish(quote("AAA", "9", NOW + timedelta(seconds=60)))  # the minute closed
    now[0] = 55
    assert await recorder.flush() == 1  # the closed minute at once; no open one is due
    now[0] = 60
    assert await recorder.flush() == 1  # the new minute
    hub.publish(quote("AAA", "8", NOW + timedelta(seconds=61)))
    assert await recorder.flush(everything=True) == 6  # shutdown: every changed candle
    [day] = await store.window("AAA", "1d", 0, 2**40, 5, newest_first=False)
    assert (day.open, day.high, day.low, day.close) == (10, 13, 8, 8)
    assert hub.changed == set()
