"""The simulator's past: minute bars drawn from its seed, ending at its start price.

When the simulator starts (at t0, each symbol at its start price S) its past is a
path of 1-minute bars over the HISTORY_DAYS before t0's minute, walked backwards
from S with the live simulator's statistics: per-tick log returns of standard
deviation sigma, 60 / interval ticks a minute. The last bar closes at S, so the
past joins the first live price. Every longer timeframe is folded from the same
minutes, so they agree with one another.

A symbol whose market closes (a stock, while market hours are enforced) has bars
only for the minutes its market was open, and its price holds still between
sessions, as it does live; its past reaches back at least HISTORY_DAYS sessions,
so a chart opened on a Monday morning still has Friday's (and Thursday's).

If a 1m candle is already stored within that window (an earlier run's), the path
begins at its close instead: the minutes between are a bridge from that close to
S (a random walk whose steps are shifted to land there), so no price jumps.

The same seed, symbol, start time and stored candle give the same past: the
generator is seeded with all of them (``random.Random`` seeds a string through
SHA-512, the same in every process).
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from trading.candles import DAY, TIMEFRAMES, Candle, aggregate, period_start
from trading.hours import Schedule

SUBSTEPS = 6  # points drawn inside each minute, for its high and low
# How many more days than HISTORY_DAYS a past of that many sessions may need (a
# weekend and a holiday or two).
CLOSED_DAYS = 5


class SimHistory:
    name = "sim"

    def __init__(self, starts: dict[str, Decimal], grid: dict[str, Decimal], *, seed: int,
                 volatility: Decimal, interval: float, days: int,
                 schedules: dict[str, Schedule] | None = None) -> None:
        self.starts = starts  # each symbol's start price, on its grid
        self.schedules = schedules or {}  # the symbols whose market closes
        self.symbols = list(self.starts)
        self.seed = seed
        ticks = max(1, round(60 / interval))
        self.ticks_per_minute = ticks
        self.sigma = float(volatility) * math.sqrt(ticks)  # of a minute's log return
        self.days = days
        self.grid = grid  # each symbol's price step
        self.anchor: int | None = None  # the minute the simulator started in
        self._cached: tuple[str, list[Candle]] | None = None  # one symbol's minutes

    def begin(self, started_at: datetime) -> None:
        """The simulator started: its past ends here."""
        self.anchor = period_start(started_at.timestamp(), 60)
        self._cached = None

    def ready(self) -> bool:
        return self.anchor is not None

    def depth(self, timeframe: str) -> int:
        """All of the past it draws, and the period it begins in."""
        days = self.days + (CLOSED_DAYS if self.schedules else 0)
        return -(-days * DAY // TIMEFRAMES[timeframe]) + 1

    async def bars(self, symbol: str, timeframe: str, start: int, end: int,
                   last_minute: Candle | None) -> list[Candle]:
        minutes = self.minutes(symbol, last_minute)
        return [bar for bar in aggregate(minutes, TIMEFRAMES[timeframe])
                if start <= bar.start <= end]

    def minutes(self, symbol: str, last_minute: Candle | None) -> list[Candle]:
        """The symbol's 1-minute past for the current start (the last symbol's is kept)."""
        if self._cached is not None and self._cached[0] == symbol:
            return self._cached[1]
        if self.anchor is None:
            return []
        first = self._first(symbol, self.anchor)
        joined = last_minute if last_minute is not None and \
            first <= last_minute.start < self.anchor else None
        if joined is not None:
            first = joined.start + 60
        rng = random.Random(f"sim-history|{self.seed}|{symbol}|{self.anchor}|"  # noqa: S311
                            f"{joined.start if joined else ''}|{joined.close if joined else ''}")
        minutes = self._walk(rng, symbol, first, None if joined is None else joined.close)
        self._cached = (symbol, minutes)
        return minutes

    def _first(self, symbol: str, anchor: int) -> int:
        """Where the past begins: HISTORY_DAYS before the start, or HISTORY_DAYS sessions
        before it if that is earlier."""
        first = anchor - self.days * DAY
        schedule = self.schedules.get(symbol)
        if schedule is None:
            return first
        started = datetime.fromtimestamp(anchor, UTC)
        day = started.astimezone(schedule.zone).date()
        opens = [session.open for session in schedule.sessions(
            day - timedelta(days=self.days + CLOSED_DAYS), day) if session.open < started]
        if len(opens) >= self.days:
            first = min(first, period_start(opens[-self.days].timestamp(), 60))
        return first

    def _minutes(self, symbol: str, first: int) -> list[int]:
        """The minutes from first to the start that have a bar: all of them, or those in
        which the symbol's market was open."""
        anchor = self._anchor()
        schedule = self.schedules.get(symbol)
        if schedule is None:
            return list(range(first, anchor, 60))
        low, high = (datetime.fromtimestamp(t, UTC).astimezone(schedule.zone).date()
                     for t in (first, anchor))
        minutes: list[int] = []
        for session in schedule.sessions(low - timedelta(days=1), high):
            opens = -(-int(session.open.timestamp()) // 60) * 60
            minutes += range(max(first, opens), min(anchor, int(session.close.timestamp())),
                             60)
        return minutes

    def _walk(self, rng: random.Random, symbol: str, first: int,
              opening: Decimal | None) -> list[Candle]:
        times = self._minutes(symbol, first)
        count = len(times)
        if count <= 0:
            return []
        close = self.starts[symbol]
        sigma = self.sigma
        steps = [rng.gauss(-sigma * sigma / 2, sigma) for _ in range(count)]
        if opening is not None:  # land on the stored close: shift every step alike
            shift = (math.log(close) - math.log(opening) - sum(steps)) / count
            steps = [step + shift for step in steps]
        levels = [0.0] * (count + 1)
        levels[count] = math.log(close)
        for index in range(count - 1, -1, -1):
            levels[index] = levels[index + 1] - steps[index]
        tick = self.grid[symbol]
        inner = sigma / math.sqrt(SUBSTEPS)
        bars = []
        for index in range(count):
            # Points inside the minute: a walk from its open that ends at its close.
            draws = [rng.gauss(0.0, inner) for _ in range(SUBSTEPS)]
            mean, share = sum(draws) / SUBSTEPS, steps[index] / SUBSTEPS
            level = high = low = levels[index]
            for draw in draws:
                level += draw - mean + share
                high, low = max(high, level), min(low, level)
            open_, close_ = self._price(levels[index], tick), self._price(levels[index + 1], tick)
            bars.append(Candle(times[index], open_, max(self._price(high, tick), open_,
                                                              close_),
                               min(self._price(low, tick), open_, close_), close_,
                               self.ticks_per_minute))
        self._pin(bars, close, opening, tick)
        return bars

    @staticmethod
    def _pin(bars: list[Candle], close: Decimal, opening: Decimal | None,
             tick: Decimal) -> None:
        """Make the ends exact: the last close is the start price; a bridge opens at the
        stored close."""
        last, close = bars[-1], close.quantize(tick)
        last.close, last.high, last.low = close, max(last.high, close), min(last.low, close)
        if opening is not None:
            head = bars[0]
            head.open = opening
            head.high, head.low = max(head.high, opening), min(head.low, opening)

    @staticmethod
    def _price(level: float, tick: Decimal) -> Decimal:
        return max(Decimal(repr(math.exp(level))).quantize(tick), tick)

    def _anchor(self) -> int:
        if self.anchor is None:
            raise RuntimeError("the simulator has not started")
        return self.anchor

    async def aclose(self) -> None:
        return None
