"""Ticks from a CSV or JSONL file (ts, symbol, price), replayed at a speed factor."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from feeds.base import Sink
from trading.errors import UnknownSymbol
from trading.market import Quote, Universe, parse_price


@dataclass(frozen=True, slots=True)
class Tick:
    at: float  # seconds since the first tick of the file
    symbol: str
    price: Decimal


def parse_time(raw: object) -> float:
    """Epoch seconds from an ISO 8601 string or an epoch number (seconds or ms)."""
    if isinstance(raw, int | float) or (isinstance(raw, str) and raw.replace(".", "", 1).isdigit()):
        value = float(raw)
        return value / 1000 if value > 1e11 else value
    if isinstance(raw, str):
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    raise ValueError(f"not a time: {raw!r}")


def load_ticks(path: Path, universe: Universe) -> list[Tick]:
    """Read a replay file; symbols must be in the universe. Rows are sorted by time."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    else:
        with path.open(newline="") as file:
            rows = list(csv.DictReader(file))
    raw = []
    for number, row in enumerate(rows, start=1):
        try:
            raw.append((parse_time(row["ts"]), universe.resolve(str(row["symbol"])),
                        parse_price(row["price"])))
        except (KeyError, ValueError, TypeError, UnknownSymbol) as exc:
            raise ValueError(f"{path}: row {number}: {exc}") from None
    raw.sort(key=lambda item: item[0])
    start = raw[0][0] if raw else 0.0
    return [Tick(at - start, symbol, price) for at, symbol, price in raw]


class ReplayFeed:
    """Replays ticks with their original spacing divided by speed (0: no waiting).

    Quotes carry the time they are replayed at, so staleness works as live.
    """

    name = "replay"

    def __init__(self, ticks: list[Tick], *, speed: float, loop: bool,
                 clock: Callable[[], datetime]) -> None:
        self.ticks = ticks
        self.speed = speed
        self.loop = loop
        self.clock = clock

    async def run(self, sink: Sink) -> None:
        if not self.ticks:
            return
        running = asyncio.get_running_loop()
        # One extra average gap between laps, so a loop does not repeat a moment.
        lap = self.ticks[-1].at + (self.ticks[-1].at / max(len(self.ticks) - 1, 1))
        laps = 0
        started = running.time()
        while True:
            for tick in self.ticks:
                if self.speed > 0:
                    delay = started + (laps * lap + tick.at) / self.speed - running.time()
                    await asyncio.sleep(max(delay, 0))
                else:
                    await asyncio.sleep(0)
                sink.publish(Quote(tick.symbol, tick.price, self.clock(), self.name))
            if not self.loop:
                return
            laps += 1
