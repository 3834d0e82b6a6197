"""Accounts, orders and trades (the cash ledger: store/ledger.py; events: store/events.py).

Amounts are int64 counts of 10^-8 (trading.money). What moves money writes
these collections in a unit of work (store/unit_of_work.py); the stores here
read them, and create accounts.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from store.database import Database, Document, Units
from store.keyed import Keyed
from store.unit_of_work import Writes

# The fields of a lot that say how it converts into the account currency.
ROUTE = ("currency", "fx_pair", "fx_invert", "entry_fx_rate")


class AccountStore:
    def __init__(self, db: Database) -> None:
        self.accounts = db["accounts"]
        self.keyed = Keyed(self.accounts)

    async def get_or_create(self, user_id: str, initial: Units, currency: str,
                            now: datetime) -> Document:
        account = await self.keyed.get(user_id)
        if account is not None:
            return account
        doc = {"_id": user_id, "user_id": user_id, "currency": currency, "initial": initial,
               "cash": initial, "reserved": 0, "margin_used": 0, "available": initial,
               "realized_pnl": 0, "fees": 0, "resets": 0, "event_seq": 0, "created_at": now,
               "updated_at": now}
        with contextlib.suppress(DuplicateKeyError):
            await self.accounts.insert_one(doc)
        return await self.keyed.get(user_id) or doc

    async def get(self, user_id: str) -> Document | None:
        return await self.keyed.get(user_id)

    async def number_events(self, user_id: str, events: int) -> Document | None:
        """Take the next `events` sequence numbers; return the account after."""
        return await self.keyed.update(user_id, {}, {"$inc": {"event_seq": events}})

def expiring_filter(now: datetime) -> Document:
    """Open orders whose time in force ended by now."""
    return {"status": "open", "expires_at": {"$ne": None, "$lte": now}}


class OrderStore:
    """Orders. (user_id, client_order_id) is unique among them, so an order whose
    client_order_id is taken fails the whole transaction that would store it,
    before any money moves."""

    def __init__(self, db: Database) -> None:
        self.orders = db["orders"]
        self.keyed = Keyed(self.orders)

    async def holder(self, user_id: str, client_order_id: str) -> Document | None:
        """The order that holds a client_order_id, if any."""
        return await self.orders.find_one({"user_id": user_id,
                                           "client_order_id": client_order_id})

    async def get(self, user_id: str, order_id: str) -> Document | None:
        return await self.keyed.get(order_id, user_id=user_id)

    async def legs(self, user_id: str, ids: list[str]) -> list[Document]:
        """The orders with these ids (a parent's legs), in that order."""
        found = {doc["_id"]: doc async for doc in self.orders.find(
            {"_id": {"$in": ids}, "user_id": user_id})}
        return [found[leg] for leg in ids if leg in found]

    async def find(self, user_id: str, *, status: str | None = None, symbol: str | None = None,
                   after: str | None = None, limit: int = 100,
                   top_level: bool = False) -> list[Document]:
        """A user's orders, newest first; top_level: not the legs of another order."""
        query: Document = {"user_id": user_id}
        if top_level:
            query["parent_id"] = None
        if status is not None:
            query["status"] = status
        if symbol is not None:
            query["symbol"] = symbol
        if after is not None:
            query["_id"] = {"$lt": after}
        cursor = self.orders.find(query).sort("_id", -1).limit(limit)
        return [doc async for doc in cursor]

    async def select(self, user_id: str, *, statuses: list[str] | None = None,
                     symbols: list[str] | None = None, side: str | None = None,
                     created_after: datetime | None = None,
                     created_until: datetime | None = None, oldest_first: bool = False,
                     limit: int = 100, top_level: bool = False) -> list[Document]:
        """A user's orders of any of statuses and symbols, created in a window (after:
        exclusive, until: inclusive), newest (or oldest) first."""
        query: Document = {"user_id": user_id}
        if top_level:
            query["parent_id"] = None
        if statuses is not None:
            query["status"] = {"$in": statuses}
        if symbols is not None:
            query["symbol"] = {"$in": symbols}
        if side is not None:
            query["side"] = side
        window: Document = {}
        if created_after is not None:
            window["$gt"] = created_after
        if created_until is not None:
            window["$lte"] = created_until
        if window:
            query["created_at"] = window
        cursor = self.orders.find(query).sort("_id", 1 if oldest_first else -1).limit(limit)
        return [doc async for doc in cursor]

    async def save_hwm(self, order_id: str, hwm: Units, stop_price: Units) -> None:
        """Keep a resting trailing_stop order's best price so far and its stop there."""
        await self.keyed.update(order_id, {"status": "open"},
                                {"$set": {"hwm": hwm, "stop_price": stop_price}})

    async def expiring(self, now: datetime) -> list[Document]:
        """Open orders whose time in force has run out (through the status_expires index)."""
        return [doc async for doc in self.orders.find(expiring_filter(now))]


class TradeStore:
    def __init__(self, db: Database) -> None:
        self.trades = db["trades"]
        self.keyed = Keyed(self.trades)

    async def get(self, user_id: str, trade_id: str) -> Document | None:
        return await self.keyed.get(trade_id, user_id=user_id)

    async def modify(self, user_id: str, trade_id: str, changes: Document,
                     now: datetime) -> Document | None:
        return await self.keyed.update(
            trade_id, {"user_id": user_id, "status": "open", "pending": None},
            {"$set": {**changes, "updated_at": now}})

    async def find(self, user_id: str, *, status: str | None = None,
                   symbol: str | None = None, after: str | None = None,
                   limit: int | None = None) -> list[Document]:
        """A user's trades, newest first; after: only those older than this id; limit:
        at most this many (None: all)."""
        query: Document = {"user_id": user_id}
        if status is not None:
            query["status"] = status
        if symbol is not None:
            query["symbol"] = symbol
        if after is not None:
            query["_id"] = {"$lt": after}
        cursor = self.trades.find(query).sort("_id", -1)
        if limit is not None:
            cursor = cursor.limit(limit)
        return [doc async for doc in cursor]

    @staticmethod
    async def holdings(writes: Writes, user_id: str, symbol: str,
                       side: str | None = None) -> list[Document]:
        """A user's open lots of symbol summed per side (or of one side) by the database, in
        the unit of work: {side, quantity (units), cost (entry price times quantity, in the
        quote currency), lots, route (the newest lot's currency fields)}."""
        rows = await writes.aggregate("trades", TradeStore.holdings_pipeline(user_id, symbol,
                                                                            side))
        return [{"side": row["_id"], "quantity": int(row["quantity"]),
                 "cost": row["cost"].to_decimal().scaleb(-16), "lots": int(row["lots"]),
                 "route": row["route"]} for row in rows]

    @staticmethod
    def holdings_pipeline(user_id: str, symbol: str, side: str | None = None) -> list[Document]:
        """A pipeline summing a user's open lots of symbol per side (or of one side): their
        quantity (units), their cost (entry price times quantity, in units squared, as
        Decimal128: exact), how many, and the newest one's currency and entry rate."""
        match: Document = {"user_id": user_id, "symbol": symbol, "status": "open"}
        if side is not None:
            match["side"] = side
        return [{"$match": match}, {"$sort": {"opened_at": 1, "_id": 1}},
                {"$group": {"_id": "$side", "quantity": {"$sum": "$quantity"},
                            "cost": {"$sum": {"$multiply": [{"$toDecimal": "$entry_price"},
                                                            {"$toDecimal": "$quantity"}]}},
                            "lots": {"$sum": 1},
                            "route": {"$last": {field: f"${field}" for field in ROUTE}}}},
                {"$sort": {"_id": 1}}]

    async def held(self, user_id: str, symbol: str) -> dict[str, int]:
        """What the user holds of symbol on each side (units), summed by the database."""
        cursor = await self.trades.aggregate([
            {"$match": {"user_id": user_id, "status": "open", "symbol": symbol}},
            {"$group": {"_id": "$side", "quantity": {"$sum": "$quantity"}}}])
        return {row["_id"]: int(row["quantity"]) async for row in cursor}

    async def save_trail_best(self, trade_id: str, best: Units) -> None:
        await self.keyed.update(trade_id, {"status": "open"}, {"$set": {"trail_best": best}})
