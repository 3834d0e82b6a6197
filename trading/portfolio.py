"""An account's history as numbers: equity over time, drawdown, daily returns and Sharpe.

Pure: the caller reads the snapshots and passes ``now``. Equity is exact Decimal
throughout; ratios are quantized where they are shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from trading.errors import InvalidInput

# Daily returns are taken over calendar days (crypto trades every day), and their
# Sharpe ratio annualized with the square root of this many. The risk-free rate is 0.
DAYS_PER_YEAR = 365
# At most this many points in one portfolio history: a week of minutes (the minute
# a week ago to the minute now).
MAX_POINTS = 7 * 24 * 60 + 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ChartPeriod(StrEnum):
    """How far back a portfolio history reaches (Alpaca's ``period``)."""

    DAY = "1D"
    WEEK = "1W"
    MONTH = "1M"
    QUARTER = "3M"
    HALF = "6M"
    YEAR = "1A"
    ALL = "all"

    @property
    def length(self) -> timedelta | None:
        """The window's length (None: since the start of the account's period)."""
        return _LENGTHS.get(self)

    @property
    def intraday(self) -> bool:
        """Whether timeframes under a day may be asked for (minute snapshots are kept
        for about a week)."""
        return self in (ChartPeriod.DAY, ChartPeriod.WEEK)


_LENGTHS = {ChartPeriod.DAY: timedelta(days=1), ChartPeriod.WEEK: timedelta(days=7),
            ChartPeriod.MONTH: timedelta(days=30), ChartPeriod.QUARTER: timedelta(days=90),
            ChartPeriod.HALF: timedelta(days=180), ChartPeriod.YEAR: timedelta(days=365)}


class Timeframe(StrEnum):
    """The step between two points of a portfolio history (Alpaca's ``timeframe``)."""

    MINUTE = "1Min"
    FIVE_MINUTES = "5Min"
    FIFTEEN_MINUTES = "15Min"
    HOUR = "1H"
    DAY = "1D"

    @property
    def step(self) -> timedelta:
        return _STEPS[self]


_STEPS = {Timeframe.MINUTE: timedelta(minutes=1), Timeframe.FIVE_MINUTES: timedelta(minutes=5),
          Timeframe.FIFTEEN_MINUTES: timedelta(minutes=15), Timeframe.HOUR: timedelta(hours=1),
          Timeframe.DAY: timedelta(days=1)}


def timeframe_for(period: ChartPeriod, asked: Timeframe | None) -> Timeframe:
    """The timeframe of a history: the one asked for, or Alpaca's default (1Min for a
    day, 15Min for a week, 1D beyond). Under a day only for 1D and 1W."""
    if asked is None:
        return {ChartPeriod.DAY: Timeframe.MINUTE,
                ChartPeriod.WEEK: Timeframe.FIFTEEN_MINUTES}.get(period, Timeframe.DAY)
    if asked != Timeframe.DAY and not period.intraday:
        raise InvalidInput(f"timeframe {asked} is only offered for the periods 1D and 1W; "
                           "use 1D.", field="timeframe")
    return asked


def floor_time(moment: datetime, step: timedelta) -> datetime:
    """The start of the step-long bucket (counted from the Unix epoch, UTC) holding moment."""
    return EPOCH + (moment - EPOCH) // step * step


@dataclass(frozen=True, slots=True)
class Series:
    """Equity at the end of each bucket, with what it started from."""

    starts: list[datetime]  # each bucket's start
    equity: list[Decimal]
    base: Decimal  # the equity when the window began


def bucketed(points: Sequence[tuple[datetime, Decimal]], base: Decimal, start: datetime,
             end: datetime, step: timedelta, last: Decimal | None = None) -> Series:
    """Equity per step-long bucket from start to end (both in the window), each the last
    point before the bucket ends, carried forward; before the first point, base.

    points: snapshots in time order within [start, end]; last: the equity at end
    (the live value), which the final bucket shows when given.
    """
    first = floor_time(start, step)
    count = (floor_time(end, step) - first) // step + 1
    if count > MAX_POINTS:
        raise InvalidInput(f"That would be {count} points; at most {MAX_POINTS}: choose a "
                           "longer timeframe or a shorter period.", field="timeframe")
    starts = [first + step * n for n in range(count)]
    equity, value, index = [], base, 0
    for bucket in starts:
        closes = bucket + step
        while index < len(points) and points[index][0] < closes:
            value = points[index][1]
            index += 1
        equity.append(value)
    if last is not None and equity:
        equity[-1] = last
    return Series(starts, equity, base)


def fraction(part: Decimal, whole: Decimal, places: int = 8) -> Decimal | None:
    """part / whole rounded to places (None when whole is not positive)."""
    if whole <= 0:
        return None
    return (part / whole).quantize(Decimal(1).scaleb(-places))


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The running peak and the deepest falls from it, as an equity series goes on.

    The largest fall in money and the largest as a fraction of its peak are kept
    apart (they may be different falls).
    """

    peak: Decimal
    amount: Decimal = Decimal(0)
    fraction: Decimal = Decimal(0)

    def after(self, equity: Decimal) -> Drawdown:
        """The state once equity is seen."""
        peak = max(self.peak, equity)
        fall = peak - equity
        share = fraction(fall, peak) or Decimal(0)
        return Drawdown(peak, max(self.amount, fall), max(self.fraction, share))


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def daily_returns(closes: dict[date, Decimal], first: date, last: date,
                  base: Decimal) -> list[Decimal]:
    """The return of each calendar day from first to last: its close (the last equity
    of the day; a day without one keeps the day before's) over the close before (base
    before the first day). Days after a close of zero or less have no return."""
    returns, previous = [], base
    for day in days_between(first, last):
        close = closes.get(day, previous)
        if previous > 0:
            returns.append(close / previous - 1)
        previous = close
    return returns


def sharpe(returns: Iterable[Decimal], periods_per_year: int = DAYS_PER_YEAR) -> Decimal | None:
    """The annualized Sharpe ratio of per-period returns with a risk-free rate of 0:
    mean / sample standard deviation * sqrt(periods_per_year). None with fewer than two
    returns, or when they do not vary."""
    values = list(returns)
    if len(values) < 2:
        return None
    mean = sum(values, Decimal(0)) / len(values)
    variance = sum(((r - mean) ** 2 for r in values), Decimal(0)) / (len(values) - 1)
    if variance == 0:
        return None
    return (mean / variance.sqrt() * Decimal(periods_per_year).sqrt()).quantize(
        Decimal("0.0001"))
