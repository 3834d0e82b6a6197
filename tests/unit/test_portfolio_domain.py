"""The history domain: buckets, drawdown, daily returns, Sharpe, activity windows."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from trading.activities import ActivityType, Position, Source, Window, parse_types
from trading.errors import InvalidInput
from trading.portfolio import (
    MAX_POINTS,
    ChartPeriod,
    Drawdown,
    Timeframe,
    bucketed,
    daily_returns,
    floor_time,
    fraction,
    sharpe,
    timeframe_for,
)

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
D = Decimal


def test_buckets_carry_the_last_point_forward_from_the_base():
    points = [(T0 + timedelta(seconds=30), D(101)), (T0 + 3 * MINUTE, D(99)),
              (T0 + timedelta(minutes=3, seconds=50), D(98))]
    series = bucketed(points, D(100), T0 + timedelta(seconds=5), T0 + 5 * MINUTE, MINUTE)
    assert series.starts == [T0 + n * MINUTE for n in range(6)]
    assert series.equity == [D(101), D(101), D(101), D(98), D(98), D(98)]
    assert series.base == D(100)
    live = bucketed(points, D(100), T0, T0 + 5 * MINUTE, MINUTE, last=D(105))
    assert live.equity[-1] == D(105) and live.equity[:-1] == series.equity[:-1]
    empty = bucketed([], D(100), T0, T0 + 2 * MINUTE, MINUTE)
    assert empty.equity == [D(100)] * 3


def test_buckets_are_counted_from_the_epoch_and_capped():
    assert floor_time(datetime(2026, 5, 4, 10, 7, 31, tzinfo=UTC), 5 * MINUTE) == (
        datetime(2026, 5, 4, 10, 5, tzinfo=UTC))
    assert floor_time(datetime(2026, 5, 4, 23, 59, tzinfo=UTC), timedelta(days=1)) == (
        datetime(2026, 5, 4, tzinfo=UTC))
    start = T0 + timedelta(seconds=30)  # a week back from any moment: 1W at 1Min
    week = bucketed([], D(1), start, start + timedelta(days=7), MINUTE)
    assert len(week.starts) == MAX_POINTS == 10_081
    with pytest.raises(InvalidInput) as refused:
        bucketed([], D(1), start, start + timedelta(days=7, minutes=1), MINUTE)
    assert refused.value.details == {"field": "timeframe"}


def test_timeframes_default_as_alpacas_and_intraday_only_within_a_week():
    assert timeframe_for(ChartPeriod.DAY, None) == Timeframe.MINUTE
    assert timeframe_for(ChartPeriod.WEEK, None) == Timeframe.FIFTEEN_MINUTES
    assert timeframe_for(ChartPeriod.MONTH, None) == Timeframe.DAY
    assert timeframe_for(ChartPeriod.ALL, None) == Timeframe.DAY
    assert timeframe_for(ChartPeriod.WEEK, Timeframe.MINUTE) == Timeframe.MINUTE
    assert timeframe_for(ChartPeriod.YEAR, Timeframe.DAY) == Timeframe.DAY
    for period in (ChartPeriod.MONTH, ChartPeriod.QUARTER, ChartPeriod.HALF, ChartPeriod.YEAR,
                   ChartPeriod.ALL):
        with pytest.raises(InvalidInput):
            timeframe_for(period, Timeframe.HOUR)
    assert ChartPeriod.ALL.length is None and ChartPeriod.YEAR.length == timedelta(days=365)


def test_drawdown_keeps_the_deepest_fall_in_money_and_in_share_apart():
    state = Drawdown(D(100))
    for equity in (D(120), D(90), D(200), D(160), D(150), D(300)):
        state = state.after(equity)
    assert state.peak == D(300)
    assert state.amount == D(50)  # 200 -> 150
    assert state.fraction == D("0.25")  # 120 -> 90
    assert Drawdown(D(100)).after(D(100)) == Drawdown(D(100), D(0), D(0))
    assert Drawdown(D(0)).after(D(-5)).fraction == 0  # no share of a peak of nothing


def test_daily_returns_carry_a_missing_day_and_skip_after_nothing():
    first = date(2026, 5, 1)
    closes = {date(2026, 5, 2): D(110), date(2026, 5, 4): D(99)}
    assert daily_returns(closes, first, date(2026, 5, 4), D(100)) == [
        D(0), D("0.1"), D(0), D("-0.1")]
    assert daily_returns({first: D(0), date(2026, 5, 2): D(10)}, first, date(2026, 5, 2),
                         D(100)) == [D(-1)]


def test_sharpe_is_the_annualized_mean_over_the_sample_deviation():
    returns = [D("0.01"), D("-0.02"), D("0.015"), D("0.003")]
    expected = statistics.mean(returns) / statistics.stdev(returns) * D(365).sqrt()
    assert sharpe(returns) == expected.quantize(D("0.0001"))
    assert sharpe(returns, periods_per_year=252) == (
        statistics.mean(returns) / statistics.stdev(returns) * D(252).sqrt()).quantize(
        D("0.0001"))
    assert sharpe([D("0.01")]) is None
    assert sharpe([D("0.01"), D("0.01")]) is None  # no spread
    assert fraction(D(1), D(3)) == D("0.33333333") and fraction(D(1), D(0)) is None


def test_activity_types_are_parsed_strictly():
    assert parse_types(None) == frozenset(ActivityType)
    assert parse_types("fill") == {ActivityType.FILL}
    assert parse_types("fee, pnl,fee") == {ActivityType.FEE, ActivityType.PNL}
    for bad in ("", "fill,", "Fill", "fills", "fill;fee", "fee," * 60, "\u0066\u0131ll"):
        with pytest.raises(InvalidInput) as refused:
            parse_types(bad)
        assert refused.value.details == {"field": "type"}


def test_a_window_includes_the_positions_millisecond_only_for_sources_on_its_far_side():
    at = T0
    desc = Window(None, None, Position(at, Source.EXIT_FILL, "t:1"), descending=True)
    assert desc.bounds(Source.LEDGER) == (None, False, at, False)
    assert desc.bounds(Source.EXIT_FILL) == (None, False, at, True)
    assert desc.bounds(Source.ORDER_FILL) == (None, False, at, True)
    asc = Window(None, None, Position(at, Source.EXIT_FILL, "t:1"), descending=False)
    assert asc.bounds(Source.ORDER_FILL) == (at, False, None, True)
    assert asc.bounds(Source.LEDGER) == (at, True, None, True)
    later = at + MINUTE
    bounded = Window(at - MINUTE, later, None, descending=True)
    assert bounded.bounds(Source.LEDGER) == (at - MINUTE, False, later, True)
    # A position beyond the window's end leaves the end as it is.
    beyond = Window(None, at, Position(later, Source.LEDGER, "x"), descending=True)
    assert beyond.bounds(Source.LEDGER) == (None, False, at, True)
