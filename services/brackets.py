"""The legs of bracket, oto and oco orders (trading/brackets.py), inside the units of work
that change their parents or siblings.

Every change of a leg happens in the unit of work of what caused it: the entry's
fill activates its held legs (each rests with its reservation taken); an exit
order that ends (filled, rejected, cancelled, expired) cancels its live
siblings (``oco_with``) and releases their reservations; an entry that ends
without a fill cancels its held legs. Two legs filling at once both write their
sibling and the account, so the database lets one commit and the other start
again, finding its own leg cancelled: one fills, exactly once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from services.context import TradingContext
from services.events import Event
from services.views import balances_view, order_view
from store.database import Document
from store.trading import TradeStore
from store.unit_of_work import Writes
from trading.brackets import other_side
from trading.errors import AccountGone
from trading.money import from_units
from trading.orders import OrderStatus, Side, ended_as, moved

LIVE = [OrderStatus.OPEN.value, OrderStatus.HELD.value]


class Group(NamedTuple):
    """Legs a unit of work changed, their events, and the account after (None: untouched)."""

    orders: list[Document]
    events: list[Event]
    account: Document | None


NOTHING = Group([], [], None)


def is_exit(order: Document) -> bool:
    """Whether an order is an exit leg (or an oco's take-profit)."""
    return order.get("parent_id") is not None or order.get("order_class") == "oco"


def as_placed(leg: Document) -> Document:
    """A new leg as placed: status new, nothing pending."""
    return {**leg, "status": OrderStatus.NEW.value, "pending": None, "reserved": 0}


class Legs:
    """Leg changes inside a caller's unit of work (module docstring)."""

    def __init__(self, engine: TradingContext) -> None:
        self.engine = engine

    def reservation(self, leg: Document, held: int) -> int:
        """What a resting leg takes from its account: its fee at its price, and its margin
        too if it exits more than is held (units) on the side it closes."""
        return self.engine.reservation(leg["symbol"], Side(leg["side"]), worst(leg),
                                       from_units(leg["quantity"]), closes=leg["quantity"] <= held)

    @staticmethod
    async def resting(writes: Writes, user_id: str) -> int:
        """The user's orders that rest or will (open, and legs held until their entry
        fills), as the transaction reads them: what MAX_OPEN_ORDERS_PER_USER caps."""
        return await writes.count("orders", {"user_id": user_id, "status": {"$in": LIVE}})

    async def held(self, writes: Writes, order: Document, side: Side,
                   opened: Document | None = None) -> int:
        """Units of order's symbol held on side, as the transaction reads them (summed by
        the database), plus the lot this unit of work opens (opened, not yet written)."""
        rows = await TradeStore.holdings(writes, order["user_id"], order["symbol"], side.value)
        extra = opened["quantity"] if opened is not None and opened["side"] == side else 0
        return sum(int(row["quantity"]) for row in rows) + int(extra)

    async def activate(self, writes: Writes, parent: Document, opened: Document | None,
                       now: datetime, new: list[Document] | None = None) -> Group:
        """The entry (parent) filled: its held legs rest, each with its reservation, or
        are rejected if the account cannot cover them. new: the legs of an entry filled
        as it is placed, not yet stored (written here)."""
        user_id = parent["user_id"]
        if new is not None:
            legs = new
        elif parent.get("legs"):
            legs = await writes.find("orders", {"_id": {"$in": parent["legs"]},
                                                "user_id": user_id,
                                                "status": OrderStatus.HELD.value})
        else:
            return NOTHING
        if not legs:
            return NOTHING
        held = await self.held(writes, parent, Side(parent["side"]), opened)
        amounts = [self.reservation(leg, held) for leg in legs]
        total = sum(amounts)
        account = await writes.update(
            "accounts", user_id, {"available": {"$gte": total}},
            {"$inc": {"available": -total, "reserved": total,
                      "event_seq": len(legs) + bool(total)}, "$set": {"updated_at": now}})
        target, also = OrderStatus.OPEN, {}
        if account is None:
            target, amounts = OrderStatus.REJECTED, [0] * len(legs)
            also = {"reject_reason": "insufficient_funds"}
            account = await writes.update("accounts", user_id, {},
                                          {"$inc": {"event_seq": len(legs)}})
            if account is None:
                raise AccountGone()
        changed = []
        for leg, amount in zip(legs, amounts, strict=True):
            changed.append(await self._move(writes, leg, target, now, new is not None,
                                            {"reserved": amount, **also}))
        events: list[Event] = [("order_update", {"order": order_view(leg)}) for leg in changed]
        if target == OrderStatus.OPEN and total:
            events.append(("account_update", {"account": balances_view(account)}))
        return Group(changed, events, account)

    async def _move(self, writes: Writes, leg: Document, target: OrderStatus, now: datetime,
                    insert: bool, fields: Document) -> Document:
        """A leg moved to target through the table: inserted (new), or updated (stored)."""
        if insert:
            stored = {**ended_as(leg, target), **fields}
            if target == OrderStatus.OPEN:
                stored["activated_at"] = now
            writes.insert("orders", stored)
            return stored
        guard, change = moved(leg, target)
        stamp = {"activated_at": now} if target == OrderStatus.OPEN else {}
        after = await writes.update("orders", leg["_id"], guard,
                                    {"$set": {**change, **fields, **stamp}})
        if after is None:  # read held in this transaction: cannot happen
            raise RuntimeError(f"leg {leg['_id']} changed under its unit of work")
        return after

    def placed(self, order: Document, legs: list[Document], status: OrderStatus,
               writes: Writes) -> list[Document]:
        """Legs stored with their parent as it is placed: held or open (as each says),
        or rejected with it (status REJECTED)."""
        stored = []
        for leg in legs:
            if status == OrderStatus.REJECTED:
                leg = {**ended_as(as_placed(leg), OrderStatus.REJECTED),
                       "reject_reason": order.get("reject_reason")}
            writes.insert("orders", leg)
            stored.append(leg)
        return stored

    async def end_with(self, writes: Writes, order: Document, now: datetime) -> Group:
        """An order ended: cancel its live siblings (one cancels other) and, if it ended
        without a fill, its held legs; release what they reserved."""
        ids = list(order.get("oco_with") or [])
        if order["status"] != OrderStatus.FILLED:
            ids += [leg for leg in order.get("legs") or [] if leg not in ids]
        if not ids:
            return NOTHING
        user_id = order["user_id"]
        live = await writes.find("orders", {"_id": {"$in": ids}, "user_id": user_id,
                                            "status": {"$in": LIVE}})
        ended, released = [], 0
        for leg in live:
            guard, change = moved(leg, OrderStatus.CANCELED)
            after = await writes.update("orders", leg["_id"], guard, {"$set": {
                **change, "canceled_at": now, "reserved": 0, "canceled_by": order["_id"]}})
            if after is not None:
                ended.append(after)
                released += int(leg.get("reserved") or 0)
        if not ended:
            return NOTHING
        account = await writes.update(
            "accounts", user_id, {},
            {"$inc": {"reserved": -released, "available": released,
                      "event_seq": len(ended)}, "$set": {"updated_at": now}})
        if account is None:
            raise AccountGone()
        events: list[Event] = [("order_update", {"order": order_view(leg)}) for leg in ended]
        return Group(ended, events, account)

    async def cap(self, writes: Writes, order: Document) -> int:
        """The units an exit order fills: all of them, or, when its symbol may not be
        sold short, at most what is held on the side it closes (0: nothing held)."""
        if not is_exit(order) or order["side"] != Side.SELL:
            return int(order["quantity"])
        instrument = self.engine.hub.universe.instruments.get(order["symbol"])
        shortable = self.engine.rules.allow_shorts and (
            instrument is None or instrument.rules.shortable)
        if shortable:
            return int(order["quantity"])
        held = await self.held(writes, order, other_side(Side(order["side"])))
        return min(int(order["quantity"]), held)


def merged(events: list[Event], group: Group, account: Document) -> tuple[list[Event], Document]:
    """A unit of work's events and account, with a group's after them."""
    if not group.orders:
        return events, account
    return [*events, *group.events], group.account or account


def worst(leg: Document) -> Decimal:
    """The price a leg is valued at: its limit, else its stop."""
    return from_units(leg["limit_price"] if leg["limit_price"] is not None
                      else leg["stop_price"])
