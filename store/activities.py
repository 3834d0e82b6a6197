"""Reading a user's activities where they are kept: filled orders, trades' exits and the
ledger, each a page at a time in (time, key) order from an index (trading/activities.py
says how the sources interleave).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING

from store.database import ByName, Document
from trading.activities import Source, Window
from trading.trades import CloseReason

ORDER_EXIT = CloseReason.ORDER.value
# Exits are searched in time slabs, the first this long and each next one this many
# times longer: a page reads the exits of a few slabs, not every exit of the user.
FIRST_SLAB = timedelta(hours=1)
SLAB_GROWTH = 8


def time_range(window: Window, source: Source) -> Document:
    """The {$gt/$gte, $lt/$lte} condition on a source's time (empty: any time)."""
    low, low_in, high, high_in = window.bounds(source)
    condition: Document = {}
    if low is not None:
        condition["$gte" if low_in else "$gt"] = low
    if high is not None:
        condition["$lte" if high_in else "$lt"] = high
    return condition


def _past(window: Window, source: Source, time_field: str,
          keys: list[tuple[str, Any]]) -> list[Document]:
    """Conditions that leave out, at the position's own time, what is not past its key
    (only for the position's own source; keys: (field, value) in sort order)."""
    position = window.position
    if position is None or position.source != source:
        return []
    beyond = "$lt" if window.descending else "$gt"
    alternatives: list[Document] = [{time_field: {"$ne": position.at}}]
    for depth, (field, value) in enumerate(keys):
        alternatives.append({**{f: v for f, v in keys[:depth]}, field: {beyond: value}})
    return [{"$or": alternatives}]


def _where(base: Document, time_field: str, window: Window, source: Source,
           keys: list[tuple[str, Any]]) -> Document:
    conditions = [base]
    if span := time_range(window, source):
        conditions.append({time_field: span})
    conditions += _past(window, source, time_field, keys)
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


class ActivityStore:
    def __init__(self, db: ByName) -> None:
        self.orders = db["orders"]
        self.trades = db["trades"]
        self.ledger = db["ledger"]

    async def order_fills(self, user_id: str, window: Window, limit: int) -> list[Document]:
        """Filled orders in the window, in its order."""
        key = window.position.key if window.position is not None else ""
        query = _where({"user_id": user_id, "status": "filled"}, "filled_at", window,
                       Source.ORDER_FILL, [("_id", key)])
        way = DESCENDING if window.descending else ASCENDING
        cursor = self.orders.find(query).sort([("filled_at", way), ("_id", way)]).limit(limit)
        return [doc async for doc in cursor]

    async def cash(self, user_id: str, window: Window, limit: int, *,
                   included: list[str] | None = None,
                   excluded: list[str] | None = None) -> list[Document]:
        """Ledger entries in the window, in its order: of the reasons included (None:
        any), but none of those excluded."""
        base: Document = {"user_id": user_id}
        if included is not None:
            base["reason"] = {"$in": included}
        elif excluded:
            base["reason"] = {"$nin": excluded}
        key = window.position.key if window.position is not None else ""
        query = _where(base, "at", window, Source.LEDGER, [("_id", key)])
        way = DESCENDING if window.descending else ASCENDING
        cursor = self.ledger.find(query).sort([("at", way), ("_id", way)]).limit(limit)
        return [doc async for doc in cursor]

    async def exits(self, user_id: str, window: Window, limit: int, floor: datetime,
                    now: datetime) -> list[Document]:
        """Trades' exits in the window, in its order: each the trade's symbol, side and
        _id with ``exit`` (the exit) and ``n`` (its place among the trade's exits).

        Exits are searched slab by slab from the window's near end (the index on
        exits.at bounds each search), until a page is full; floor and now: the
        earliest and latest an exit can be (the account's creation; the clock).
        """
        low, low_in, high, high_in = window.bounds(Source.EXIT_FILL)
        found: list[Document] = []
        span = FIRST_SLAB
        if window.descending:  # slabs move down from the top, to low (or the floor)
            top, top_in = high, high_in
            lowest = floor if low is None else low
            while len(found) < limit:
                reference = now if top is None else top
                last = reference - lowest <= span
                bottom, bottom_in = (low, low_in) if last else (reference - span, False)
                found += await self._slab(user_id, window, bottom, bottom_in, top, top_in,
                                          limit - len(found))
                if last:
                    break
                top, top_in, span = bottom, True, span * SLAB_GROWTH
        else:  # slabs move up from the bottom, to high (or the clock)
            start, start_in = (floor, True) if low is None else (low, low_in)
            highest = now if high is None else high
            while len(found) < limit:
                last = highest - start <= span
                end, end_in = (high, high_in) if last else (start + span, False)
                found += await self._slab(user_id, window, start, start_in, end, end_in,
                                          limit - len(found))
                if last or end is None:
                    break
                start, start_in, span = end, True, span * SLAB_GROWTH
        return found

    async def _slab(self, user_id: str, window: Window, low: datetime | None, low_in: bool,
                    high: datetime | None, high_in: bool, limit: int) -> list[Document]:
        span: Document = {}
        if low is not None:
            span["$gte" if low_in else "$gt"] = low
        if high is not None:
            span["$lte" if high_in else "$lt"] = high
        match: Document = {"user_id": user_id}
        if span:
            match["exits"] = {"$elemMatch": {"at": span}}
        keys: list[tuple[str, Any]] = []
        if window.position is not None and window.position.source == Source.EXIT_FILL:
            trade_id, _, n = window.position.key.rpartition(":")
            keys = [("_id", trade_id), ("n", int(n))]
        # An exit an order made (a net position shrank) is that order's fill.
        exact: list[Document] = [{"exit.reason": {"$ne": ORDER_EXIT}}]
        if span:
            exact.append({"exit.at": span})
        exact += _past(window, Source.EXIT_FILL, "exit.at", keys)
        way = -1 if window.descending else 1
        pipeline: list[Document] = [
            {"$match": match},
            {"$project": {"symbol": 1, "side": 1, "exits": 1}},
            {"$unwind": {"path": "$exits", "includeArrayIndex": "n"}},
            {"$project": {"symbol": 1, "side": 1, "n": 1, "exit": "$exits"}},
        ]
        pipeline.append({"$match": {"$and": exact}})
        pipeline += [{"$sort": {"exit.at": way, "_id": way, "n": way}}, {"$limit": limit}]
        cursor = await self.trades.aggregate(pipeline)
        return [doc async for doc in cursor]

    async def symbols_of(self, user_id: str, trade_ids: list[str],
                         order_ids: list[str]) -> tuple[dict[str, Document], dict[str, Document]]:
        """The symbol of each of the user's trades and orders named (orders: with the
        trade they opened, if any), by id."""
        trades: dict[str, Document] = {}
        orders: dict[str, Document] = {}
        if trade_ids:
            trades = {doc["_id"]: doc async for doc in self.trades.find(
                {"_id": {"$in": trade_ids}, "user_id": user_id}, {"symbol": 1})}
        if order_ids:
            orders = {doc["_id"]: doc async for doc in self.orders.find(
                {"_id": {"$in": order_ids}, "user_id": user_id}, {"symbol": 1, "trade_id": 1})}
        return trades, orders
