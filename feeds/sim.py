"""A seeded geometric Brownian motion per symbol: moving prices with no network.

Prices keep to each instrument's tick size, and a symbol whose market is closed
holds still (no ticks) until it opens; crypto moves around the clock.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal, localcontext

from feeds.base import Sink
from feeds.calendars import MarketHours
from feeds.sim_history import SimHistory
from trading.market import Instrument, Quote


def price_step(start: Decimal) -> Decimal:
    """Quote simulated prices with the start price's decimals, and at least two."""
    exponent = start.as_tuple().exponent
    places = max(2, -exponent if isinstance(exponent, int) else 2)
    return Decimal(1).scaleb(-places)


def on_grid(price: Decimal, step: Decimal) -> Decimal:
    """price rounded to a multiple of step (at least one step), with step's decimals."""
    return max((price / step).to_integral_value() * step, step).quantize(step)


class SimFeed:
    name = "sim"

    def __init__(self, instruments: list[Instrument], *, seed: int, volatility: Decimal,
                 interval: float, clock: Callable[[], datetime],
                 hours: MarketHours | None = None, history_days: int = 2) -> None:
        self.instruments = sorted(instruments, key=lambda i: i.symbol)
        self.seed = seed
        self.volatility = volatility
        self.interval = interval
        self.clock = clock
        self.hours = hours
        # Each symbol's price grid: the start price's decimals, at least its tick size.
        starts = {i.symbol: i.start or Decimal(100) for i in self.instruments}
        self.grid = {i.symbol: max(price_step(starts[i.symbol]), i.rules.tick(starts[i.symbol]))
                     for i in self.instruments}
        self.starts = {symbol: on_grid(start, self.grid[symbol])
                       for symbol, start in starts.items()}
        # The past that leads to the start prices (feeds/sim_history.py).
        closing = {} if hours is None or not hours.enforced else {
            symbol: schedule for symbol in self.starts
            if not (schedule := hours.schedule(symbol)).always_open}
        self.history = SimHistory(self.starts, self.grid, seed=seed, volatility=volatility,
                                  interval=interval, days=history_days, schedules=closing)

    def steps(self, is_open: Callable[[str], bool] | None = None
              ) -> Iterator[list[tuple[str, Decimal]]]:
        """Yield the next price of every symbol whose market is open (is_open; None: all),
        tick after tick; the first tick has every symbol. The same seed, the same path."""
        rng = random.Random(self.seed)  # noqa: S311 - simulation, not security
        rules = {i.symbol: i.rules for i in self.instruments}
        steps = {symbol: price_step(start) for symbol, start in self.starts.items()}
        prices = dict(self.starts)
        sigma = self.volatility
        drift = -(sigma * sigma) / 2
        first = True
        while True:
            tick = []
            with localcontext() as ctx:
                ctx.prec = 28
                for symbol in prices:
                    # Drawn for every symbol, so a path does not depend on which markets open.
                    shock = Decimal(repr(rng.gauss(0.0, 1.0)))
                    if is_open is not None and not is_open(symbol):
                        if first:
                            tick.append((symbol, prices[symbol]))
                        continue
                    moved = prices[symbol] * (drift + sigma * shock).exp()
                    prices[symbol] = on_grid(moved, max(steps[symbol], rules[symbol].tick(moved)))
                    tick.append((symbol, prices[symbol]))
            first = False
            yield tick

    async def run(self, sink: Sink) -> None:
        hours = self.hours
        is_open = None if hours is None else (lambda symbol: hours.is_open(symbol, self.clock()))
        self.history.begin(self.clock())
        for tick in self.steps(is_open):
            now = self.clock()
            for symbol, price in tick:
                sink.publish(Quote(symbol, price, now, self.name))
            await asyncio.sleep(self.interval)
