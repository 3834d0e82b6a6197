"""Price monitor: the cost of a tick with many resting triggers, and fire latency.

    python -m bench.monitor --triggers 100000 --ticks 20000 --fires 1000

(a) µs per tick on one symbol with N resting triggers, none crossed, for the
TriggerIndex and for a plain scan over the same triggers, in the same run.
(b) With --fires F: F trades with stop-losses on the real app (embedded
secantusd-rs); ticks are sent one at a time, each crossing exactly one stop-loss,
and for each we time tick -> trade closed in the database and tick ->
trade_update received by a Socket.IO client.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from decimal import Decimal

from trading.triggers import Direction, Kind, Trigger, TriggerIndex


def build(count: int, rng: random.Random) -> list[Trigger]:
    """Stops below 90 and targets above 110, so ticks between them cross nothing."""
    triggers = []
    for n in range(count):
        if n % 2:
            level, direction, kind = Decimal(rng.randint(1000, 8999)) / 100, Direction.BELOW, \
                Kind.STOP_LOSS
        else:
            level, direction, kind = Decimal(rng.randint(11001, 19999)) / 100, Direction.ABOVE, \
                Kind.TARGET
        triggers.append(Trigger(f"t{n}", "AAA", level, direction, kind, f"trade:{n}", "u"))
    return triggers


def scan(triggers: list[Trigger], price: Decimal) -> list[Trigger]:
    return [t for t in triggers if t.crossed_by(price)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=100_000)
    parser.add_argument("--ticks", type=int, default=20_000)
    parser.add_argument("--scan-ticks", type=int, default=50)
    parser.add_argument("--fires", type=int, default=0, help="also measure (b) over this many")
    args = parser.parse_args()
    rng = random.Random(1)
    triggers = build(args.triggers, rng)
    index = TriggerIndex()
    for trigger in triggers:
        index.add(trigger)
    prices = [Decimal(rng.randint(9001, 10999)) / 100 for _ in range(args.ticks)]

    start = time.perf_counter()
    for price in prices:
        if index.crossed("AAA", price):
            raise AssertionError("a tick between the levels crossed something")
    indexed = (time.perf_counter() - start) / len(prices) * 1e6

    start = time.perf_counter()
    for price in prices[:args.scan_ticks]:
        if scan(triggers, price):
            raise AssertionError("a tick between the levels crossed something")
    scanned = (time.perf_counter() - start) / args.scan_ticks * 1e6

    print(f"{args.triggers} resting triggers on one symbol, none crossed")
    print(f"index: {indexed:10.2f} µs per tick ({args.ticks} ticks)")
    print(f"scan:  {scanned:10.2f} µs per tick ({args.scan_ticks} ticks)")
    print(f"index is {scanned / indexed:,.0f}x faster")
    if args.fires:
        from bench.monitor_fires import measure_fires
        asyncio.run(measure_fires(args.fires))


if __name__ == "__main__":
    main()
