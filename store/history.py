"""Equity snapshots: each account's equity as the server saw it, over time.

Three collections, every document carrying its ``user_id``:

- ``equity_snapshots``: one per account and snapshot (``_id`` user:epoch-ms), with
  ``expires_at`` for the TTL index, so minutes are kept only as long as configured.
- ``equity_days``: per account, period and UTC day, the last snapshot of the day
  (kept for good; daily histories, daily returns).
- ``equity_marks``: per account and period (a reset starts a new one): when it
  started and ended, its last snapshot, the running peak and deepest drawdown, and
  ``watch`` while it had open trades at its last snapshot (their equity moves with
  prices, so the server keeps taking snapshots of them).

A snapshot may be taken by any process; a mark is changed only where it still
holds the ``at`` its writer read (``write_marks``), so racing writers never
lose each other's drawdown, and an older snapshot never overwrites a newer one.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, DESCENDING, UpdateOne

from store.database import ByName, Document, Units
from store.int64 import int64s
from store.keyed import Keyed, insert_new, skipping_taken

OPEN_TRADE_FIELDS = {"user_id": 1, "symbol": 1, "side": 1, "quantity": 1, "entry_price": 1,
                     "status": 1}


def mark_id(user_id: str, period: int) -> str:
    return f"{user_id}:{period:010d}"


def day_id(user_id: str, period: int, day: datetime) -> str:
    return f"{user_id}:{period:010d}:{day:%Y-%m-%d}"


class SnapshotStore:
    def __init__(self, db: ByName) -> None:
        self.snapshots = db["equity_snapshots"]
        self.days = db["equity_days"]
        self.marks = db["equity_marks"]
        self.accounts = db["accounts"]
        self.trades = db["trades"]
        self.keyed_snapshots = Keyed(self.snapshots)

    # -- what a snapshot reads ---------------------------------------------------

    async def accounts_of(self, user_ids: list[str]) -> list[Document]:
        return [doc async for doc in self.accounts.find({"_id": {"$in": user_ids}})]

    async def open_trades_of(self, user_ids: list[str]) -> list[Document]:
        return [doc async for doc in self.trades.find(
            {"user_id": {"$in": user_ids}, "status": "open"}, OPEN_TRADE_FIELDS)]

    async def users_with_open_trades(self) -> list[str]:
        """Every account holding an open trade (a scan, as the monitor's start-up makes)."""
        return sorted(str(user) for user in await self.trades.distinct("user_id",
                                                                        {"status": "open"}))

    async def marks_of(self, ids: list[str]) -> dict[str, Document]:
        return {doc["_id"]: doc async for doc in self.marks.find({"_id": {"$in": ids}})}

    # -- what a snapshot writes ----------------------------------------------------

    async def save(self, snapshots: list[Document], days: list[Document]) -> None:
        """Store snapshots (again: no change) and make each day document the latest of
        its day (an older one than stored changes nothing)."""
        await insert_new(self.keyed_snapshots, snapshots)
        if not days:
            return
        await skipping_taken(self.days.bulk_write(
            [UpdateOne({"_id": day["_id"], "at": {"$lt": day["at"]}}, {"$set": _fields(day)},
                       upsert=True) for day in days], ordered=False))

    async def write_marks(self, marks: list[tuple[Document, datetime | None]]) -> set[str]:
        """Write each (mark, the ``at`` it was computed from; None: new) where the stored
        mark still has that ``at``; return the ids of those that had changed."""
        if not marks:
            return set()
        refused = await skipping_taken(self.marks.bulk_write(
            [UpdateOne({"_id": mark["_id"], "at": read_at}, {"$set": _fields(mark)},
                       upsert=True) for mark, read_at in marks], ordered=False))
        return {marks[index][0]["_id"] for index in refused}

    async def unwatch_earlier(self, user_id: str, period: int, ended_at: datetime) -> None:
        """End the user's periods before period: no longer watched, ended at ended_at."""
        await self.marks.update_many({"user_id": user_id, "period": {"$lt": period},
                                      "watch": True},
                                     {"$set": {"watch": False}})
        await self.marks.update_many({"user_id": user_id, "period": {"$lt": period},
                                      "ended_at": None},
                                     {"$set": {"ended_at": ended_at}})

    async def watched(self, after: str | None, limit: int) -> list[Document]:
        """Marks with open trades at their last snapshot, by id, after the id given."""
        query: Document = {"watch": True}
        if after is not None:
            query["_id"] = {"$gt": after}
        return [doc async for doc in self.marks.find(query, {"user_id": 1}).sort(
            "_id", ASCENDING).limit(limit)]

    # -- what histories read ---------------------------------------------------------

    async def mark(self, user_id: str, period: int) -> Document | None:
        return await self.marks.find_one({"_id": mark_id(user_id, period)})

    async def points(self, user_id: str, period: int, start: datetime,
                     end: datetime) -> list[tuple[datetime, Units]]:
        """The period's snapshots after start, to end, oldest first."""
        cursor = self.snapshots.find(
            {"user_id": user_id, "at": {"$gt": start, "$lte": end}, "period": period},
            {"at": 1, "equity": 1}).sort("at", ASCENDING)
        return [(doc["at"], doc["equity"]) async for doc in cursor]

    async def point_before(self, user_id: str, period: int, moment: datetime) -> Units | None:
        """The equity of the period's last snapshot at or before moment, if one is kept."""
        doc = await self.snapshots.find_one(
            {"user_id": user_id, "at": {"$lte": moment}, "period": period},
            {"equity": 1}, sort=[("at", DESCENDING)])
        return None if doc is None else int(doc["equity"])

    async def day_closes(self, user_id: str, period: int, first: datetime,
                         last: datetime) -> list[tuple[datetime, Units]]:
        """The period's day documents from day first to day last: (day, equity)."""
        cursor = self.days.find({"user_id": user_id, "period": period,
                                 "day": {"$gte": first, "$lte": last}},
                                {"day": 1, "equity": 1}).sort("day", ASCENDING)
        return [(doc["day"], doc["equity"]) async for doc in cursor]

    async def results_by_symbol(self, user_id: str, start: datetime,
                                end: datetime | None) -> list[Document]:
        """Per symbol, the trades opened from start (to end) that have exited in all or
        part: their realized P&L and fees, how many closed, and of those the wins and
        losses net of fees with their sums (``_id``: the symbol)."""
        opened: Document = {"$gte": start}
        exited: Document = {"$gte": start}
        if end is not None:
            opened["$lt"] = end
            exited["$lte"] = end  # a reset closes the period's trades before it ends
        net = {"$subtract": ["$realized_pnl", "$fees"]}
        closed = {"$eq": ["$status", "closed"]}
        won = {"$and": [closed, {"$gt": [net, 0]}]}
        lost = {"$and": [closed, {"$lt": [net, 0]}]}
        cursor = await self.trades.aggregate([
            {"$match": {"user_id": user_id, "exits": {"$elemMatch": {"at": exited}},
                        "opened_at": opened}},
            {"$group": {"_id": "$symbol", "realized": {"$sum": "$realized_pnl"},
                        "fees": {"$sum": "$fees"},
                        "closed": {"$sum": {"$cond": [closed, 1, 0]}},
                        "wins": {"$sum": {"$cond": [won, 1, 0]}},
                        "losses": {"$sum": {"$cond": [lost, 1, 0]}},
                        "won": {"$sum": {"$cond": [won, net, 0]}},
                        "lost": {"$sum": {"$cond": [lost, net, 0]}}}}])
        return [doc async for doc in cursor]

    async def day_before(self, user_id: str, period: int, day: datetime) -> Units | None:
        doc = await self.days.find_one({"user_id": user_id, "period": period,
                                        "day": {"$lt": day}}, {"equity": 1},
                                       sort=[("day", DESCENDING)])
        return None if doc is None else int(doc["equity"])


def _fields(doc: Document) -> Document:
    """What an upsert sets: every field but the _id (its filter names it)."""
    fields: Document = int64s({key: value for key, value in doc.items() if key != "_id"})
    return fields
