"""The candle repository against the real database: upserts, history, ranges."""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from bson import Int64

from store.candles import CandleStore, Row
from trading.candles import Candle

T = 1_767_225_600  # 2026-01-01T00:00:00Z


def bar(start, o, h, low, c, ticks=1, partial=False):
    return Candle(start, Decimal(o), Decimal(h), Decimal(low), Decimal(c), ticks, partial)


@pytest.fixture
def candles(store) -> CandleStore:
    return store.candles


async def test_live_candles_are_upserted_and_stored_as_int64_units(candles, store):
    await candles.save([Row("BTCUSDT", "1m", bar(T, "100.5", "101", "99", "100", ticks=3))])
    doc = await store.db["candles"].find_one({"_id": f"BTCUSDT|1m|{T}"})
    assert {k: doc[k] for k in ("s", "tf", "t", "o", "h", "l", "c", "n")} == {
        "s": "BTCUSDT", "tf": "1m", "t": T, "o": 10_050_000_000, "h": 10_100_000_000,
        "l": 9_900_000_000, "c": 10_000_000_000, "n": 3}
    assert all(isinstance(doc[k], Int64) for k in ("t", "o", "h", "l", "c", "n"))
    assert doc["expires_at"] == datetime.fromtimestamp(T, UTC) + timedelta(days=7)
    # The same candle later: the close moves, the range only widens.
    await candles.save([Row("BTCUSDT", "1m", bar(T, "100.5", "100.7", "99.5", "100.6", 5))])
    [stored] = await candles.window("BTCUSDT", "1m", 0, 2**40, 10, newest_first=False)
    assert stored == bar(T, "100.5", "101", "99", "100.6", 5)
    await candles.save([Row("BTCUSDT", "1d", bar(T, 1, 1, 1, 1))])
    daily = await store.db["candles"].find_one({"_id": f"BTCUSDT|1d|{T}"})
    assert "expires_at" not in daily  # daily candles are kept for good


async def test_a_partial_candle_never_replaces_the_stored_open(candles):
    await candles.save([Row("AAPL", "1h", bar(T, 10, 12, 9, 11))])
    await candles.save([Row("AAPL", "1h", bar(T, "11.5", 13, "11.5", 12, partial=True))])
    [stored] = await candles.window("AAPL", "1h", T, T, 1, newest_first=True)
    assert (stored.open, stored.high, stored.low, stored.close) == (10, 13, 9, 12)
    await candles.save([Row("AAPL", "1h", bar(T + 3600, 7, 7, 7, 7, partial=True))])
    [fresh] = await candles.window("AAPL", "1h", T + 3600, T + 3600, 1, newest_first=True)
    assert fresh.open == 7  # nothing was stored: the partial open is the best there is


async def test_history_fills_only_where_nothing_is_stored(candles):
    await candles.save([Row("ETHUSDT", "5m", bar(T + 300, 50, 50, 50, 50))])
    added = await candles.insert_history("ETHUSDT", "5m", [
        bar(T + 300 * n, 10 + n, 11 + n, 9 + n, 10 + n) for n in range(4)])
    assert added == 3
    got = await candles.window("ETHUSDT", "5m", 0, 2**40, 10, newest_first=False)
    assert [(c.start - T, c.open) for c in got] == [(0, 10), (300, 50), (600, 12), (900, 13)]
    assert await candles.insert_history("ETHUSDT", "5m", []) == 0


async def test_windows_page_from_either_end_within_the_range(candles):
    await candles.insert_history("SOLUSDT", "1m", [bar(T + 60 * n, n + 1, n + 1, n + 1, n + 1)
                                                   for n in range(10)])
    await candles.insert_history("SOLUSDT", "5m", [bar(T, 99, 99, 99, 99)])
    await candles.insert_history("OTHER", "1m", [bar(T, 99, 99, 99, 99)])
    oldest = await candles.window("SOLUSDT", "1m", T + 60, T + 480, 3, newest_first=False)
    assert [c.start - T for c in oldest] == [60, 120, 180]
    newest = await candles.window("SOLUSDT", "1m", T + 60, T + 480, 3, newest_first=True)
    assert [c.start - T for c in newest] == [480, 420, 360]
    assert await candles.window("SOLUSDT", "1m", T + 10_000, T + 20_000, 3, False) == []
    assert (await candles.edge("SOLUSDT", "1m", newest=True)).start == T + 540
    assert (await candles.edge("SOLUSDT", "1m", newest=False)).start == T
    assert await candles.edge("NOPE", "1m", newest=True) is None


async def test_prices_beyond_the_books_are_skipped_not_fatal(candles, caplog):
    huge = bar(T, "1e12", "1e12", "1e12", "1e12")
    fine = bar(T + 60, "0.123456789", "0.2", "0.1", "0.15")  # rounded to 8 places
    assert await candles.save([Row("X", "1m", huge), Row("X", "1m", fine)]) == 1
    assert await candles.insert_history("X", "1m", [huge]) == 0
    [stored] = await candles.window("X", "1m", 0, 2**40, 10, newest_first=False)
    assert stored.open == Decimal("0.12345679")
    assert "not stored" in caplog.text


async def test_a_thousand_symbols_times_six_timeframes_are_written_in_batches(candles, store):
    # Today's candles: T's intraday ones have expired, and the TTL monitor may take them.
    today = int(time.time()) // 86_400 * 86_400
    rows = [Row(f"S{n}", timeframe, bar(today, 1, 2, 1, 2))
            for n in range(1000) for timeframe in ("1m", "5m", "15m", "1h", "4h", "1d")]
    assert await candles.save(rows) == 6000
    assert await store.db["candles"].count_documents({}) == 6000
