"""Where the past comes from: Binance's klines (a local server speaking its protocol) and
Yahoo's history (its fetch call injected)."""

import asyncio
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from feeds.base import HistoryError, RateLimiter
from feeds.history import BinanceKlines, YahooHistory
from tests.klines import FakeKlines
from trading.candles import Candle
from trading.market import Universe

T = 1_767_225_600  # 2026-01-01T00:00:00Z
universe = Universe.parse("binance:BTC-USDT,ETHUSDT")


@pytest.fixture
async def fake():
    async with FakeKlines() as server:
        yield server


@pytest.fixture
async def klines(fake):
    source = BinanceKlines(universe.from_source("binance"), url=fake.url, max_rate=1000,
                           timeout=2)
    yield source
    await source.aclose()


async def test_a_day_of_minutes_comes_in_two_pages_of_klines(fake, klines):
    bars = await klines.bars("BTC-USDT", "1m", T, T + 1439 * 60, None)
    assert [b.start for b in bars] == list(range(T, T + 1440 * 60, 60))
    assert [(r["symbol"], r["interval"], r["startTime"], r["endTime"], r["limit"])
            for r in fake.requests] == [
        ("BTCUSDT", "1m", str(T * 1000), str((T + 1439 * 60) * 1000), "1000"),
        ("BTCUSDT", "1m", str((T + 1000 * 60) * 1000), str((T + 1439 * 60) * 1000), "1000")]
    first = bars[0]
    base = 100 + T // 60 % 50
    assert (first.open, first.high, first.low, first.close, first.ticks, first.partial) == (
        Decimal(base), Decimal(base) + Decimal("1.5"), Decimal(base) - Decimal("0.75"),
        Decimal(base) + Decimal("0.5"), 42, False)


async def test_each_timeframe_is_asked_by_its_binance_name(fake, klines):
    for timeframe, seconds in (("4h", 14400), ("1d", 86400)):
        bars = await klines.bars("ETHUSDT", timeframe, T, T + 9 * seconds, None)
        assert [b.start for b in bars] == [T + n * seconds for n in range(10)]
    assert [r["interval"] for r in fake.requests] == ["4h", "1d"]


async def test_malformed_rows_are_skipped_and_said(fake, klines, caplog):
    fake.mode = "junk"
    bars = await klines.bars("ETHUSDT", "1h", T, T + 3600, None)
    assert [b.start for b in bars] == [T, T + 3600]
    assert "skipped 5 malformed Binance klines" in caplog.text


@pytest.mark.parametrize(("mode", "says"), [
    ("fail", "HTTP 500"), ("not_a_list", "not a list"), ("huge", "too large"),
    ("busy", "asked to wait")])
async def test_a_refusal_or_a_useless_answer_is_a_history_error(fake, klines, mode, says):
    fake.mode = mode
    with pytest.raises(HistoryError, match=says):
        await klines.bars("ETHUSDT", "1m", T, T + 60, None)


async def test_a_429_pauses_every_later_call_for_its_retry_after(fake, klines):
    fake.mode = "busy"
    with pytest.raises(HistoryError):
        await klines.bars("ETHUSDT", "1m", T, T + 60, None)
    loop_time = asyncio.get_running_loop().time()
    assert klines.limiter.next_at >= loop_time + 0.9


async def test_yahoo_bars_are_folded_into_our_periods_from_the_injected_fetch():
    calls = []

    def fetch(symbol, interval, start, end):
        calls.append((symbol, interval, start, end))
        # Mumbai's hourly bars start at 09:15 local (03:45 UTC).
        return [Candle(T + 3 * 3600 + 45 * 60 + n * 3600, Decimal(10 + n), Decimal(12 + n),
                       Decimal(9 + n), Decimal(11 + n), 0) for n in range(6)]

    source = YahooHistory(["RELIANCE.NS"], fetch=fetch, limiter=RateLimiter(1000), timeout=2)
    hours = await source.bars("RELIANCE.NS", "1h", T, T + 86400, None)
    assert [b.start - T for b in hours] == [h * 3600 for h in range(3, 9)]
    four = await source.bars("RELIANCE.NS", "4h", T, T + 86400, None)
    assert [(b.start - T, b.open, b.high, b.low, b.close) for b in four] == [
        (0, 10, 12, 9, 11), (4 * 3600, 11, 16, 10, 15), (8 * 3600, 15, 17, 14, 16)]
    assert [c[1] for c in calls] == ["60m", "60m"]
    assert calls[0][2:] == (datetime.fromtimestamp(T, UTC),
                            datetime.fromtimestamp(T + 86400 + 3600, UTC))


async def test_yahoo_bars_that_are_not_bars_are_dropped():
    def fetch(symbol, interval, start, end):
        return [Candle(T, Decimal(10), Decimal(9), Decimal(11), Decimal(10)),  # high < low
                Candle(T + 60, Decimal(10), Decimal(11), Decimal(9), Decimal(10))]

    source = YahooHistory(["AAPL"], fetch=fetch, limiter=RateLimiter(1000), timeout=2)
    assert [b.start for b in await source.bars("AAPL", "1m", T, T + 60, None)] == [T + 60]


async def test_a_yahoo_call_that_hangs_gives_up_after_the_timeout():
    release = threading.Event()

    def fetch(symbol, interval, start, end):
        release.wait(5)
        return []

    source = YahooHistory(["AAPL"], fetch=fetch, limiter=RateLimiter(1000), timeout=0.1)
    try:
        with pytest.raises(TimeoutError):
            await source.bars("AAPL", "1m", T, T + 60, None)
    finally:
        release.set()
