"""Limit and stop orders: rested with funds reserved, then filled, cancelled or expired.

Each change is a step of the order (its ``pending``) and one conditional
update of its account that notes the step's op, as in server/engine.py:
``reserve:`` when it rests, ``fill:`` when a tick crosses its price, and
``release:`` when it is cancelled, expires or cannot pay for its fill.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from typing import TYPE_CHECKING

from server.views import order_view
from store.database import Document
from trading.errors import (
    InsufficientFunds,
    InvalidInput,
    LimitExceeded,
    NotFound,
    OrderNotOpen,
)
from trading.money import from_units, show, to_units
from trading.orders import OrderRequest, Side

if TYPE_CHECKING:
    from server.engine import TradingEngine


class RestingOrders:
    """The resting orders of a TradingEngine (module docstring)."""

    def __init__(self, engine: TradingEngine) -> None:
        self.engine = engine
        # Orders between their claim and their first write (TradingEngine.settle_claim).
        self._placing: dict[str, asyncio.Event] = {}

    async def placed(self, order_id: str) -> None:
        """Wait until an order this process is placing has its first write, if it is."""
        if (placing := self._placing.get(order_id)) is not None:
            await placing.wait()

    def reserve_step(self, order: Document, request: OrderRequest) -> Document:
        """The step that rests an order: what it reserves."""
        rules, price = self.engine.rules, request.trigger_price
        if price is None:  # validate_order refuses this; kept for the type checker
            raise InvalidInput("A resting order needs a price.")
        amount = (rules.margin(request.side, price, request.quantity)
                  + rules.commission(price, request.quantity))
        return {"op": f"reserve:{order['_id']}", "amount": to_units(amount),
                "node": self.engine.node}

    async def place(self, order: Document, max_resting: int = 0) -> Document:
        """Claim, store and rest a new order (its reserve step set), once per
        client_order_id.

        With max_resting (0: no cap), the user's resting orders are counted once
        the order is stored (as ``new``, before any money moves), counting it: over
        the cap, it is rejected (``limit_exceeded``) and LimitExceeded raised. So
        of placings racing for the last place none rests unless it counted itself
        within the cap, and the cap is never passed (both may be refused).
        """
        store = self.engine.store
        if taken := await store.orders.claim([order]):
            return await self.engine.existing_order(order, taken[0])
        self._placing[order["_id"]] = placing = asyncio.Event()
        try:
            existing = await store.orders.insert(order)
        finally:
            del self._placing[order["_id"]]
            placing.set()
        if existing is not None:  # claimed before claims existed (OrderStore)
            return await self.engine.existing_order(order, existing)
        if max_resting > 0 and await store.orders.count_resting(order["user_id"]) > max_resting:
            await self.reject(order, "limit_exceeded")
            raise LimitExceeded(f"At most {max_resting} resting orders; cancel one first.",
                                limit=max_resting)
        return await self._reserve(order)

    async def _reserve(self, order: Document) -> Document:
        step = order["pending"]
        applied = await self.engine.store.accounts.apply(
            order["user_id"], step["op"], {"available": -step["amount"],
                                           "reserved": step["amount"]},
            self.engine.now(), need_available=step["amount"])
        if not applied:
            await self.reject(order, "insufficient_funds")
            raise InsufficientFunds(details={"order_id": order["_id"],
                                             "needed": show(from_units(step["amount"]))})
        return await self.finish_reserve(order)

    async def finish_reserve(self, order: Document) -> Document:
        """End a reserve step whose account was charged: the order is open."""
        engine, step = self.engine, order["pending"]
        rested = await engine.store.orders.update(
            order["_id"], {"pending.op": step["op"]},
            {"status": "open", "reserved": step["amount"], "pending": None})
        result = rested or await engine.store.orders.get(order["user_id"], order["_id"]) or order
        engine.changed("order", result)
        await engine.announce(order["user_id"], step["op"],
                              ("order_update", {"order": order_view(result)}))
        return result

    async def reject(self, order: Document, reason: str) -> None:
        """Reject a stored order whose step never reached its account."""
        rejected = await self.engine.store.orders.update(
            order["_id"], {"status": "new"},
            {"status": "rejected", "reject_reason": reason, "pending": None})
        if rejected is not None:
            await self.engine.events.publish(order["user_id"],
                                             ("order_update", {"order": order_view(rejected)}))

    async def cancel(self, user_id: str, order_id: str, status: str = "canceled") -> Document:
        """End a resting order (cancelled, or expired) and release its reservation, once."""
        engine = self.engine
        order = await engine.store.orders.get(user_id, order_id)
        if order is None:
            raise NotFound("No such order.")
        op = f"release:{order_id}"
        ended = await engine.store.orders.update(
            order_id, {"user_id": user_id, "status": "open", "pending": None},
            {"status": status, "canceled_at": engine.now(),
             "pending": {"op": op, "amount": order["reserved"], "node": engine.node}})
        if ended is None:
            raise OrderNotOpen(details={"status": order["status"]})
        return await self.release(ended)

    async def expire_day_orders(self) -> int:
        """Expire resting day orders whose day (UTC) has ended; return how many."""
        expired = 0
        for order in await self.engine.store.orders.expiring(self.engine.now()):
            with contextlib.suppress(OrderNotOpen, NotFound):
                await self.cancel(order["user_id"], order["_id"], status="expired")
                expired += 1
        return expired

    async def release(self, order: Document) -> Document:
        """Give an ended order's reservation back to its account (its release step)."""
        engine, step = self.engine, order["pending"]
        await engine.store.accounts.apply(order["user_id"], step["op"],
                                          {"reserved": -step["amount"],
                                           "available": step["amount"]}, engine.now())
        done = await engine.store.orders.update(order["_id"], {"pending.op": step["op"]},
                                                {"pending": None, "reserved": 0})
        result = done or order
        engine.changed("order", result)
        await engine.announce(order["user_id"], step["op"],
                              ("order_update", {"order": order_view(result)}))
        return result

    async def fill(self, order: Document, price: Decimal) -> Document | None:
        """Fill an open limit or stop order at a tick's price (plus slippage), once.

        A gap through the level fills at the tick's price, not the level. If the
        fill costs more than was reserved and the account cannot cover the
        difference, the order is rejected and its reservation released.
        """
        engine = self.engine
        fill = engine.rules.fill_price(Side(order["side"]), price)
        step = {**engine.open_step(order, fill), "op": f"fill:{order['_id']}",
                "reserved": order["reserved"]}
        claimed = await engine.store.orders.update(
            order["_id"], {"status": "open", "pending": None}, {"pending": step})
        if claimed is None:
            return None  # cancelled or filled meanwhile
        return await self._charge_fill(claimed)

    async def _charge_fill(self, order: Document) -> Document | None:
        engine, step = self.engine, order["pending"]
        cost = step["margin"] + step["fee"]
        applied = await engine.store.accounts.apply(
            order["user_id"], step["op"],
            {"reserved": -step["reserved"], "margin_used": step["margin"], "cash": -step["fee"],
             "fees": step["fee"], "available": step["reserved"] - cost},
            engine.now(), need_available=max(cost - step["reserved"], 0) or None)
        if not applied:
            rejected = await engine.store.orders.update(
                order["_id"], {"pending.op": step["op"]},
                {"status": "rejected", "reject_reason": "insufficient_funds",
                 "pending": {"op": f"release:{order['_id']}", "amount": step["reserved"],
                             "node": engine.node}})
            return None if rejected is None else await self.release(rejected)
        return await engine.finish_open(order)
