"""Accounts, orders and trades (the cash ledger: store/ledger.py; events: store/events.py).

Amounts are int64 counts of 10^-8 (trading.money). Every change to an account
is one conditional update. Steps of a multi-step operation are recorded before
they run: on the order or trade (field ``pending``) and, once the account has
been changed, in the account's ``pending_ops``; Store.recover finishes or
undoes whatever a crash interrupted.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from store.database import Database, Document, Units
from store.keyed import Keyed, insert_new


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
               "realized_pnl": 0, "fees": 0, "pending_ops": [], "pending_reset": None,
               "resets": 0, "event_seq": 0, "created_at": now, "updated_at": now}
        with contextlib.suppress(DuplicateKeyError):
            await self.accounts.insert_one(doc)
        return await self.keyed.get(user_id) or doc

    async def get(self, user_id: str) -> Document | None:
        return await self.keyed.get(user_id)

    async def apply(self, user_id: str, op: str, changes: dict[str, Units], now: datetime,
                    need_available: Units | None = None) -> bool:
        """Apply $inc changes once for op, if available funds cover need_available.

        Returns True if applied now or earlier; False if the funds were short.
        """
        guard: Document = {"pending_ops": {"$ne": op}}
        if need_available is not None:
            guard["available"] = {"$gte": need_available}
        applied = await self.keyed.update(
            user_id, guard,
            {"$inc": changes, "$push": {"pending_ops": op}, "$set": {"updated_at": now}})
        if applied is not None:
            return True
        return await self.has_op(user_id, op)

    async def has_op(self, user_id: str, op: str) -> bool:
        return await self.keyed.get(user_id, pending_ops=op) is not None

    async def finish(self, user_id: str, op: str, events: int = 0) -> Document | None:
        """Mark op done and number the events it announces; return the account after.

        The user's event counter lives on the account, so ending a step and
        numbering its events is one write.
        """
        return await self.keyed.update(
            user_id, {}, {"$pull": {"pending_ops": op}, "$inc": {"event_seq": events}})

    async def number_events(self, user_id: str, events: int) -> Document | None:
        """Take the next `events` sequence numbers; return the account after."""
        return await self.keyed.update(user_id, {}, {"$inc": {"event_seq": events}})

    async def begin_reset(self, account: Document, now: datetime) -> Document | None:
        """Set cash back to the initial amount if nothing changed since account was read."""
        op = f"reset:{account['_id']}:{account['resets'] + 1}"
        amount = account["initial"] - account["cash"]
        return await self.keyed.update(
            account["_id"], {"cash": account["cash"], "reserved": 0, "margin_used": 0,
                             "resets": account["resets"], "pending_reset": None},
            {"$set": {"cash": account["initial"], "available": account["initial"],
                      "realized_pnl": 0, "fees": 0, "updated_at": now,
                      "pending_reset": {"op": op, "amount": amount}},
             "$inc": {"resets": 1}})

    async def end_reset(self, user_id: str, op: str) -> None:
        await self.keyed.update(user_id, {"pending_reset.op": op},
                                {"$set": {"pending_reset": None}})


class OrderStore:
    """Orders, and the claims that make their client_order_ids taken.

    Every order is claimed before anything else is written for it: a copy of
    the order as placed goes into ``claims``, under the order's id, where
    (user_id, client_order_id) is unique. So a reused client_order_id is
    caught before any money moves, and a claim is never changed afterwards.
    A market order is then written to ``orders`` once, in its final state
    (server/fills.py); a resting order is stored as ``new`` and moves on
    step by step. A claim with no order is a placing cut short
    (TradingEngine.settle_claim).
    """

    def __init__(self, db: Database) -> None:
        self.claims = db["claims"]
        self.claimed = Keyed(self.claims)
        self.orders = db["orders"]
        self.keyed = Keyed(self.orders)

    async def claim(self, orders: list[Document]) -> dict[int, Document | None]:
        """Claim new orders in one call; for each whose client_order_id is taken, by
        index, the claim that holds it (None if that could not be read)."""
        taken = await insert_new(self.claimed, orders)
        return {index: await self.claims.find_one({
            "user_id": orders[index]["user_id"],
            "client_order_id": orders[index]["client_order_id"]}) for index in sorted(taken)}

    async def holder(self, user_id: str, client_order_id: str) -> Document | None:
        """The claim that holds a client_order_id, if any."""
        return await self.claims.find_one({"user_id": user_id,
                                           "client_order_id": client_order_id})

    async def claim_of(self, order_id: str) -> Document | None:
        """The claim of an order, as the order was placed."""
        return await self.claimed.get(order_id)

    async def claim_earlier_orders(self, batch: int = 1000) -> int:
        """Claim the orders stored by versions without claims; return how many.

        Every order has a claim, so there is nothing to do (and nothing is
        read) while there are at least as many claims as orders.
        """
        if (await self.claims.estimated_document_count()
                >= await self.orders.estimated_document_count()):
            return 0
        claimed = {doc["_id"] async for doc in self.claims.find({}, {"_id": 1})}
        added, missing = 0, []
        async for order in self.orders.find({}):
            if order["_id"] not in claimed:
                missing.append(order)
            if len(missing) == batch:
                added += len(missing) - len(await insert_new(self.claimed, missing))
                missing = []
        return added + len(missing) - len(await insert_new(self.claimed, missing))

    async def insert(self, order: Document) -> Document | None:
        """Insert a new (claimed) order; on a repeated client_order_id return the
        existing one."""
        if not await insert_new(self.keyed, [order]):
            return None
        return await self.orders.find_one({
            "user_id": order["user_id"], "client_order_id": order["client_order_id"]})

    async def insert_final(self, orders: list[Document]) -> set[int]:
        """Insert claimed orders in their final state, in one call; return the indexes
        of those stored already (by an earlier try of the same step)."""
        return await insert_new(self.keyed, orders)

    async def get(self, user_id: str, order_id: str) -> Document | None:
        return await self.keyed.get(order_id, user_id=user_id)

    async def update(self, order_id: str, expect: Document, changes: Document) -> Document | None:
        """Apply changes if the order still matches expect; return it updated."""
        return await self.keyed.update(order_id, expect, {"$set": changes})

    async def find(self, user_id: str, *, status: str | None = None, symbol: str | None = None,
                   after: str | None = None, limit: int = 100) -> list[Document]:
        query: Document = {"user_id": user_id}
        if status is not None:
            query["status"] = status
        if symbol is not None:
            query["symbol"] = symbol
        if after is not None:
            query["_id"] = {"$lt": after}
        cursor = self.orders.find(query).sort("_id", -1).limit(limit)
        return [doc async for doc in cursor]

    async def count_resting(self, user_id: str) -> int:
        """A user's resting orders: open, or stored and still being placed (``new``)."""
        return await self.orders.count_documents({"user_id": user_id,
                                                  "status": {"$in": ["new", "open"]}})

    async def interrupted(self) -> list[Document]:
        return [doc async for doc in self.orders.find(
            {"$or": [{"pending": {"$ne": None}}, {"status": "new"}]})]

    async def expiring(self, now: datetime) -> list[Document]:
        """Open orders whose time in force has run out."""
        return [doc async for doc in self.orders.find(
            {"status": "open", "expires_at": {"$ne": None, "$lte": now}})]


class TradeStore:
    def __init__(self, db: Database) -> None:
        self.trades = db["trades"]
        self.keyed = Keyed(self.trades)

    async def insert(self, trade: Document) -> None:
        # A duplicate was inserted by an earlier attempt of the same step.
        with contextlib.suppress(DuplicateKeyError):
            await self.trades.insert_one(trade)

    async def insert_group(self, trades: list[Document]) -> None:
        """insert, for several trades in one call."""
        await insert_new(self.keyed, trades)

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

    async def save_trail_best(self, trade_id: str, best: Units) -> None:
        await self.keyed.update(trade_id, {"status": "open"}, {"$set": {"trail_best": best}})
