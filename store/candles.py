"""Candles: one document per symbol, timeframe and period start.

    {_id: "BTCUSDT|1m|1767225600", s: "BTCUSDT", tf: "1m", t: 1767225600,
     o, h, l, c: int64 units of 10^-8 (trading.money), n: ticks, expires_at?}

``t`` is the period's start in epoch seconds. Intraday timeframes carry an
``expires_at`` (trading.candles.RETENTION_DAYS) that a TTL index acts on.

Two ways in. ``save`` writes candles built from live ticks: the close is set,
the high and low only ever widen (``$max``/``$min``), and the open is set unless
the candle is partial (begun mid-period by a process that joined late, whose
open must not replace a stored one). ``insert_history`` writes a source's bars
only where no candle is stored: history never overwrites what was recorded.
Both send their writes in batches of at most BATCH, unordered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bson import Int64
from pymongo import DESCENDING, UpdateOne

from store.database import Database, Document
from store.keyed import skipping_taken
from trading.candles import RETENTION_DAYS, Candle
from trading.money import from_units, round_money, to_units

log = logging.getLogger(__name__)

BATCH = 1000


def candle_id(symbol: str, timeframe: str, start: int) -> str:
    return f"{symbol}|{timeframe}|{start}"


def price_units(price: Decimal) -> Int64:
    """A price as int64 units, rounded to the 8 places kept (a feed's float may carry
    more); AmountOutOfRange if it is beyond what int64 units hold."""
    return Int64(to_units(round_money(price)))


def expiry(timeframe: str, start: int) -> datetime | None:
    days = RETENTION_DAYS[timeframe]
    return None if days is None else datetime.fromtimestamp(start, UTC) + timedelta(days=days)


@dataclass(frozen=True, slots=True)
class Row:
    """A candle of one symbol and timeframe, as it goes to or comes from the store."""

    symbol: str
    timeframe: str
    candle: Candle


def history_document(symbol: str, timeframe: str, bar: Candle) -> Document:
    doc: Document = {"_id": candle_id(symbol, timeframe, bar.start), "s": symbol,
                     "tf": timeframe, "t": Int64(bar.start), "o": price_units(bar.open),
                     "h": price_units(bar.high), "l": price_units(bar.low),
                     "c": price_units(bar.close), "n": Int64(bar.ticks)}
    if (expires := expiry(timeframe, bar.start)) is not None:
        doc["expires_at"] = expires
    return doc


def live_update(row: Row) -> UpdateOne:
    candle = row.candle
    opened = {"o": price_units(candle.open)}
    inserted: Document = {"s": row.symbol, "tf": row.timeframe, "t": Int64(candle.start)}
    if (expires := expiry(row.timeframe, candle.start)) is not None:
        inserted["expires_at"] = expires
    update: dict[str, Any] = {
        "$set": {"c": price_units(candle.close), **({} if candle.partial else opened)},
        "$setOnInsert": {**inserted, **(opened if candle.partial else {})},
        "$max": {"h": price_units(candle.high), "n": Int64(candle.ticks)},
        "$min": {"l": price_units(candle.low)}}
    return UpdateOne({"_id": candle_id(row.symbol, row.timeframe, candle.start)}, update,
                     upsert=True)


def from_document(doc: Document) -> Candle:
    return Candle(int(doc["t"]), from_units(doc["o"]), from_units(doc["h"]),
                  from_units(doc["l"]), from_units(doc["c"]), int(doc["n"]))


class CandleStore:
    def __init__(self, db: Database) -> None:
        self.candles = db["candles"]

    async def save(self, rows: Iterable[Row]) -> int:
        """Write live candles (see the module docstring); return how many were sent. A
        candle whose prices int64 units cannot hold is skipped and logged."""
        updates = []
        for row in rows:
            try:
                updates.append(live_update(row))
            except ValueError as exc:
                log.warning("candle %s %s %s not stored: %s", row.symbol, row.timeframe,
                            row.candle.start, exc)
        for first in range(0, len(updates), BATCH):
            await self.candles.bulk_write(updates[first:first + BATCH], ordered=False)
        return len(updates)

    async def insert_history(self, symbol: str, timeframe: str, bars: Iterable[Candle]) -> int:
        """Store a source's bars where no candle of theirs is stored; return how many
        were new."""
        docs = []
        for bar in bars:
            try:
                docs.append(history_document(symbol, timeframe, bar))
            except ValueError as exc:
                log.warning("history bar %s %s %s not stored: %s", symbol, timeframe,
                            bar.start, exc)
        added = 0
        for first in range(0, len(docs), BATCH):
            chunk = docs[first:first + BATCH]
            taken = await skipping_taken(self.candles.insert_many(chunk, ordered=False))
            added += len(chunk) - len(taken)
        return added

    async def window(self, symbol: str, timeframe: str, low: int, high: int, limit: int,
                     newest_first: bool) -> list[Candle]:
        """Up to limit candles whose start is within [low, high], from the oldest or the
        newest end of that range, in that order."""
        found = self.candles.find({"s": symbol, "tf": timeframe, "t": {"$gte": low, "$lte": high}},
                                  {"s": 0, "tf": 0, "expires_at": 0})
        found = found.sort("t", DESCENDING if newest_first else 1).limit(limit)
        return [from_document(doc) async for doc in found]

    async def edge(self, symbol: str, timeframe: str, newest: bool) -> Candle | None:
        """The newest (or oldest) stored candle of a symbol and timeframe."""
        found = await self.window(symbol, timeframe, 0, 2**62, 1, newest)
        return found[0] if found else None
