"""A seeded geometric Brownian motion per symbol: moving prices with no network."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal, localcontext

from feeds.base import Sink
from feeds.sim_history import SimHistory
from trading.market import Instrument, Quote


def price_step(start: Decimal) -> Decimal:
    """Quote simulated prices with the start price's decimals, and at least two."""
    exponent = start.as_tuple().exponent
    places = max(2, -exponent if isinstance(exponent, int) else 2)
    return Decimal(1).scaleb(-places)


class SimFeed:
    name = "sim"

    def __init__(self, instruments: list[Instrument], *, seed: int, volatility: Decimal,
                 interval: float, clock: Callable[[], datetime], history_days: int = 2) -> None:
        self.instruments = sorted(instruments, key=lambda i: i.symbol)
        self.seed = seed
        self.volatility = volatility
        self.interval = interval
        self.clock = clock
        # The past that leads to the start prices (feeds/sim_history.py).
        self.history = SimHistory(self.instruments, seed=seed, volatility=volatility,
                                  interval=interval, days=history_days, step=price_step)

    def steps(self) -> Iterator[list[tuple[str, Decimal]]]:
        """Yield every symbol's next price, tick after tick; the same seed, the same path."""
        rng = random.Random(self.seed)  # noqa: S311 - simulation, not security
        prices = {i.symbol: i.start or Decimal(100) for i in self.instruments}
        steps = {i.symbol: price_step(i.start or Decimal(100)) for i in self.instruments}
        sigma = self.volatility
        drift = -(sigma * sigma) / 2
        while True:
            tick = []
            with localcontext() as ctx:
                ctx.prec = 28
                for symbol in prices:
                    shock = Decimal(repr(rng.gauss(0.0, 1.0)))
                    moved = prices[symbol] * (drift + sigma * shock).exp()
                    prices[symbol] = max(moved.quantize(steps[symbol]), steps[symbol])
                    tick.append((symbol, prices[symbol]))
            yield tick

    async def run(self, sink: Sink) -> None:
        self.history.begin(self.clock())
        for tick in self.steps():
            now = self.clock()
            for symbol, price in tick:
                sink.publish(Quote(symbol, price, now, self.name))
            await asyncio.sleep(self.interval)
