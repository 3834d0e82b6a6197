"""The simulator's past: drawn from the seed, ending at the start price, one path for
every timeframe."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from feeds.calendars import MarketHours
from feeds.sim import SimFeed
from feeds.sim_history import SimHistory
from tests.support import Clock
from trading.candles import TIMEFRAMES, Candle, aggregate
from trading.market import Universe

T0 = datetime(2026, 3, 2, 14, 30, 20, tzinfo=UTC)
MINUTE0 = int(T0.timestamp()) // 60 * 60
universe = Universe.parse("sim:AAA=100,BBB=0.5432,CCC=65000.5")


def history(seed=7, days=2, interval=0.5, at=T0, hours=None, symbols=universe) -> SimHistory:
    feed = SimFeed(symbols.from_source("sim"), seed=seed, volatility=Decimal("0.0005"),
                   interval=interval, clock=Clock(at), history_days=days, hours=hours)
    made = feed.history
    made.begin(at)
    return made


async def bars(source: SimHistory, symbol: str, timeframe: str = "1m",
               last: Candle | None = None) -> list[Candle]:
    return await source.bars(symbol, timeframe, 0, 2**40, last)


async def test_the_past_is_a_day_or_more_of_minutes_that_ends_at_the_start_price():
    minutes = await bars(history(), "AAA")
    assert len(minutes) == 2 * 1440
    assert minutes[0].start == MINUTE0 - 2 * 86400 and minutes[-1].start == MINUTE0 - 60
    assert [b.start for b in minutes] == list(range(minutes[0].start, MINUTE0, 60))
    assert minutes[-1].close == Decimal(100)
    for before, after in pairwise(minutes):
        assert after.open == before.close  # one continuous path
    for b in minutes:
        assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
        assert b.low > 0 and b.ticks == 120  # a tick every 0.5 s
    closes = [b.close for b in minutes]
    assert len(set(closes)) > 1000 and max(closes) / min(closes) < 2  # it moves, sanely


async def test_prices_keep_the_start_prices_decimals():
    for symbol, places in (("BBB", 4), ("CCC", 2)):
        for b in await bars(history(), symbol):
            for price in (b.open, b.high, b.low, b.close):
                assert -price.as_tuple().exponent == places
    assert (await bars(history(), "CCC"))[-1].close == Decimal("65000.5")


async def test_the_same_seed_and_clock_give_the_same_past_and_another_seed_another():
    first = await bars(history(seed=7), "AAA", "15m")
    assert first == await bars(history(seed=7), "AAA", "15m")
    assert first != await bars(history(seed=8), "AAA", "15m")
    later = history(seed=7, at=T0 + timedelta(minutes=1))
    assert (await bars(later, "AAA"))[-1].start == MINUTE0
    assert await bars(history(seed=7), "AAA") != await bars(history(seed=7), "BBB")


async def test_every_timeframe_is_folded_from_the_same_minutes():
    source = history()
    minutes = await bars(source, "AAA")
    for timeframe, seconds in TIMEFRAMES.items():
        folded = await bars(source, "AAA", timeframe)
        assert folded == aggregate(minutes, seconds)
        assert folded[-1].close == Decimal(100)
    daily = await bars(source, "AAA", "1d")
    assert [d.partial for d in daily] == [True, False, False]  # it starts at 14:30
    assert daily[1].high == max(b.high for b in minutes if daily[1].start <= b.start
                                < daily[2].start)


async def test_a_stored_minute_within_the_window_is_bridged_to_the_start_price():
    stored = Candle(MINUTE0 - 3600, Decimal(120), Decimal(121), Decimal(119), Decimal("120.5"))
    source = history()
    minutes = await bars(source, "AAA", last=stored)
    assert len(minutes) == 59
    assert minutes[0].start == stored.start + 60 and minutes[0].open == Decimal("120.5")
    assert minutes[-1].close == Decimal(100)
    assert minutes == await bars(history(), "AAA", last=stored)  # deterministic too
    # A stored minute older than the window, or at the start, is no place to join.
    old = Candle(MINUTE0 - 3 * 86400, *[Decimal(1)] * 4)
    assert len(await bars(history(), "AAA", last=old)) == 2 * 1440
    now = Candle(MINUTE0, *[Decimal(1)] * 4)
    assert len(await bars(history(), "AAA", last=now)) == 2 * 1440


async def test_the_range_asked_for_is_what_comes_back():
    source = history()
    # 09:30 to 11:30 (the start is 14:30:20): the hours that start within it.
    some = await source.bars("AAA", "1h", MINUTE0 - 5 * 3600, MINUTE0 - 3 * 3600, None)
    assert [b.start for b in some] == [MINUTE0 - 4.5 * 3600, MINUTE0 - 3.5 * 3600]


@pytest.mark.parametrize("days", [1, 30])
async def test_the_window_is_as_many_days_as_configured(days):
    minutes = await bars(history(days=days), "AAA")
    assert len(minutes) == days * 1440


async def test_the_feed_starts_its_past_where_its_live_prices_begin():
    clock = Clock(T0)
    feed = SimFeed(universe.from_source("sim"), seed=3, volatility=Decimal("0.0005"),
                   interval=0.5, clock=clock)
    assert not feed.history.ready()
    first_tick = next(feed.steps())
    feed.history.begin(clock())
    assert feed.history.ready()
    past = await feed.history.bars("AAA", "1m", 0, 2**40, None)
    assert past[-1].close == Decimal(100)
    price = dict(first_tick)["AAA"]
    assert abs(price - past[-1].close) / past[-1].close < Decimal("0.01")  # one tick away


def in_new_york_session(start: int) -> bool:
    """Whether a minute is within a regular NYSE session (winter: 14:30-21:00 UTC)."""
    at = datetime.fromtimestamp(start, UTC)
    return at.weekday() < 5 and (14, 30) <= (at.hour, at.minute) < (21, 0)


@pytest.mark.parametrize(("at", "sessions"), [
    (T0, ["2026-02-26", "2026-02-27"]),                         # Monday at the open
    (datetime(2026, 3, 2, 18, tzinfo=UTC), ["2026-02-27", "2026-03-02"]),  # Monday 13:00
    (datetime(2026, 2, 28, 15, tzinfo=UTC), ["2026-02-26", "2026-02-27"]),  # a Saturday
], ids=["monday-open", "monday-noon", "saturday"])
async def test_with_hours_enforced_a_stocks_past_has_bars_only_while_its_market_was_open(
        at, sessions):
    """A stock holds still while New York is closed, in the past as live; the past still
    holds two sessions' minutes when the two days before the start were a weekend."""
    mixed = Universe.parse("sim:AAA=100,BTCUSDT=65000")
    source = history(at=at, hours=MarketHours(mixed, "enforce"), symbols=mixed)
    minutes = await bars(source, "AAA")
    assert minutes and all(in_new_york_session(bar.start) for bar in minutes)
    days = sorted({datetime.fromtimestamp(bar.start, UTC).date().isoformat()
                   for bar in minutes})
    assert days == sessions
    assert len(minutes) == sum(
        390 if day != "2026-03-02" else (int(at.timestamp()) // 60 * 60 - MINUTE0) // 60
        for day in days)
    assert minutes[-1].close == Decimal(100)
    for before, after in pairwise(minutes):
        assert after.open == before.close  # still one path: the price held overnight
    crypto = await bars(source, "BTCUSDT")  # around the clock
    assert len(crypto) == 2 * 1440
