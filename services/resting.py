"""Limit and stop orders: rested with funds reserved, then filled, cancelled or expired.

Each change is one unit of work (store/unit_of_work.py). Resting takes the
reservation from the account and stores the order, open;
a fill (a tick crossed the order's price) turns the reservation into the
trade's margin and fee and opens the trade; a cancellation or expiry gives
the reservation back. The order, the account, the trade, the ledger and the
events commit together or not at all, and each reads the order as the
transaction sees it, so an order is filled or ended once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from services.brackets import Legs, merged
from services.context import TradingContext
from services.events import Event
from services.views import order_view
from store.database import Document
from store.events import run_document
from store.unit_of_work import DuplicateKey, Writes
from trading.errors import (
    AccountGone,
    DuplicateClientOrderId,
    InsufficientFunds,
    InvalidInput,
    LimitExceeded,
    NotFound,
    OrderNotOpen,
    PaperDeskError,
    ShortNotAllowed,
)
from trading.events import OrderFilled
from trading.fees import Liquidity, liquidity_of
from trading.fx import Conversion
from trading.money import from_units, show
from trading.orders import (
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    ended_as,
    marketable,
    moved,
)


# What a unit of work ends with: the order as stored, the trade a fill opened
# (or None), the account after, the events to send, and an error for the
# client when the order was stored refused.
class Outcome(NamedTuple):
    order: Document
    trade: Document | None
    account: Document
    events: list[Event]
    refusal: PaperDeskError | None
    closed: list[Document] = []  # lots a fill closed or reduced
    legs: list[Document] = []  # legs or siblings it changed (services/brackets.py)


class RestingOrders:
    """The resting orders of a TradingEngine (module docstring)."""

    def __init__(self, engine: TradingContext) -> None:
        self.engine = engine
        self.legs = Legs(engine)

    def reservation(self, request: OrderRequest, held_other: Decimal = Decimal(0),
                    market: Decimal | None = None) -> int:
        """What resting an order takes from its account: its margin and fee at its
        price (a market order for the open: at the market price now); only the fee for
        an order that closes no more than the position of the other side holds
        (held_other). If the position shrinks, or the price moves, before the order
        fills, the fill pays the difference or the order is rejected."""
        price = request.worst_price if request.worst_price is not None else market
        if price is None:  # validate_order refuses this; kept for the type checker
            raise InvalidInput("A resting order needs a price.")
        return self.engine.reservation(request.symbol, request.side, price, request.quantity,
                                       closes=request.quantity <= held_other)

    async def _done(self, outcome: Outcome) -> Document:
        """After the commit: tell the watchers and the user's sockets; raise the refusal."""
        order, trade, account, events, refusal, closed, legs = outcome
        await self.engine.changed("order", order)
        for leg in legs:
            await self.engine.changed("order", leg)
        if trade is not None:
            await self.engine.changed("trade", trade)
        for lot in closed:
            await self.engine.changed("trade", lot)
        await self.engine.events.stored(order["user_id"], account["event_seq"], events)
        if refusal is not None:
            raise refusal
        return order

    async def place(self, order: Document, amount: int, max_resting: int = 0,
                    legs: Sequence[tuple[Document, int]] = ()) -> Document:
        """Store a new order and rest it with amount reserved, once per client_order_id;
        with its legs (held, or open with what each reserves), or rejected with it.

        With max_resting (0: no cap), an order past the user's cap of open orders
        is stored rejected (``limit_exceeded``) and LimitExceeded raised; counted in
        the transaction that writes the account, so racing placings are decided one
        after the other.
        """
        engine = self.engine
        try:
            outcome = await engine.store.unit_of_work.run(
                lambda writes: self._place(writes, order, amount, max_resting, legs))
        except DuplicateKey as taken:
            if taken.collection != "orders":
                raise
            holder = await engine.store.orders.holder(order["user_id"], order["client_order_id"])
            return engine.existing_order(order, holder)
        return await self._done(outcome)

    async def _place(self, writes: Writes, order: Document, amount: int,
                     max_resting: int, legs: Sequence[tuple[Document, int]] = ()) -> Outcome:
        user_id, now = order["user_id"], self.engine.now()
        total, count = amount + sum(leg_amount for _, leg_amount in legs), 1 + len(legs)
        refusal: PaperDeskError
        if max_resting > 0 and await self.legs.resting(writes, user_id) + count > max_resting:
            refusal = LimitExceeded(f"At most {max_resting} resting orders; cancel one first.",
                                    limit=max_resting)
            stored = {**ended_as(order, OrderStatus.REJECTED), "reject_reason": "limit_exceeded"}
        else:
            account = await writes.update(
                "accounts", user_id, {"available": {"$gte": total}},
                {"$inc": {"available": -total, "reserved": total, "event_seq": count},
                 "$set": {"updated_at": now}})
            if account is not None:
                rested = {**ended_as(order, OrderStatus.OPEN), "reserved": amount}
                placed = self.legs.placed(rested, [
                    {**leg, "reserved": leg_amount} for leg, leg_amount in legs],
                    OrderStatus.OPEN, writes)
                events = self._store(writes, rested, account, placed)
                return Outcome(rested, None, account, events, None, legs=placed)
            refusal = InsufficientFunds(details={"order_id": order["_id"],
                                                 "needed": show(from_units(total))})
            stored = {**ended_as(order, OrderStatus.REJECTED),
                      "reject_reason": "insufficient_funds"}
        account = await self._number(writes, user_id, count)
        placed = self.legs.placed(stored, [leg for leg, _ in legs], OrderStatus.REJECTED, writes)
        return Outcome(stored, None, account,
                       self._store(writes, stored, account, placed), refusal, legs=placed)

    @staticmethod
    def _store(writes: Writes, stored: Document, account: Document,
               legs: Sequence[Document] = ()) -> list[Event]:
        """A new order as it ends, and its events (its legs' after its own)."""
        writes.insert("orders", stored)
        events: list[Event] = [("order_update", {"order": order_view(order)})
                               for order in (stored, *legs)]
        writes.insert("events", run_document(stored["user_id"], events,
                                             account["event_seq"] - len(events) + 1,
                                             stored["created_at"]))
        return events

    async def _number(self, writes: Writes, user_id: str, events: int) -> Document:
        """Take the next event numbers of a user's account; the account after."""
        account = await writes.update("accounts", user_id, {}, {"$inc": {"event_seq": events}})
        if account is None:
            raise AccountGone()
        return account

    async def cancel(self, user_id: str, order_id: str,
                     status: OrderStatus = OrderStatus.CANCELED) -> Document:
        """End a resting order (cancelled, or expired) and release its reservation, once;
        its held legs and its one-cancels-other siblings are cancelled with it."""
        return (await self.cancel_group(user_id, order_id, status))[0]

    async def cancel_group(self, user_id: str, order_id: str,
                           status: OrderStatus = OrderStatus.CANCELED) -> list[Document]:
        """cancel, answering the order and then the legs or siblings it ended."""
        outcome = await self.engine.store.unit_of_work.run(
            lambda writes: self._end(writes, user_id, order_id, status))
        return [await self._done(outcome), *outcome.legs]

    async def replace(self, user_id: str, order_id: str, new: Document,
                      amount: int) -> tuple[Document, Document]:
        """Replace a resting order by new (Alpaca's PATCH) in one unit of work: the old
        one ends replaced (its reservation released, replaced_by new), new rests with
        amount reserved (replaces the old). Both, as stored."""
        try:
            ended, placed = await self.engine.store.unit_of_work.run(
                lambda writes: self._replace(writes, user_id, order_id, new, amount))
        except DuplicateKey as taken:
            if taken.collection != "orders":
                raise
            holder = await self.engine.store.orders.holder(user_id, new["client_order_id"])
            raise DuplicateClientOrderId(
                details={"order_id": None if holder is None else holder["_id"]}) from None
        await self._done(ended)
        return ended.order, await self._done(placed)

    async def _replace(self, writes: Writes, user_id: str, order_id: str, new: Document,
                       amount: int) -> tuple[Outcome, Outcome]:
        ended = await self._end(writes, user_id, order_id, OrderStatus.REPLACED,
                                also={"replaced_by": new["_id"]})
        placed = await self._place(writes, new, amount, 0)
        if placed.refusal is not None:  # the old order stays as it was
            raise placed.refusal
        return ended, placed

    async def _end(self, writes: Writes, user_id: str, order_id: str,
                   status: OrderStatus, also: Document | None = None) -> Outcome:
        now = self.engine.now()
        order = await writes.get("orders", order_id, user_id=user_id)
        if order is None:
            raise NotFound("No such order.")
        held_leg = order["status"] == OrderStatus.HELD and status == OrderStatus.CANCELED
        if order["status"] != OrderStatus.OPEN and not held_leg:
            raise OrderNotOpen(details={"status": order["status"]})
        guard, change = moved(order, status)
        ended = await writes.update("orders", order_id, guard,
                                    {"$set": {**change, "canceled_at": now, "reserved": 0,
                                              **(also or {})}})
        if ended is None:  # the transaction read it open: cannot happen, but never twice
            raise OrderNotOpen()
        account = await writes.update(
            "accounts", user_id, {},
            {"$inc": {"reserved": -order["reserved"], "available": order["reserved"],
                      "event_seq": 1}, "$set": {"updated_at": now}})
        if account is None:
            raise AccountGone()
        group = await self.legs.end_with(writes, ended, now)
        events, account = merged([("order_update", {"order": order_view(ended)})], group,
                                 account)
        writes.insert("events", run_document(user_id, events,
                                             account["event_seq"] - len(events) + 1, now))
        return Outcome(ended, None, account, events, None, legs=group.orders)

    async def expire_day_orders(self) -> int:
        """Expire resting day orders whose day (UTC) has ended; return how many."""
        expired = 0
        for order in await self.engine.store.orders.expiring(self.engine.now()):
            try:
                await self.cancel(order["user_id"], order["_id"], status=OrderStatus.EXPIRED)
            except (OrderNotOpen, NotFound):
                continue
            expired += 1
        return expired

    async def fill(self, order: Document, price: Decimal) -> Document | None:
        """Fill an open limit or stop order at a tick's price (plus slippage), once;
        return it as it ends (filled, or rejected), or None if it was no longer open.

        A gap through the level fills at the tick's price, not the level. If the
        fill costs more than was reserved and the account cannot cover the
        difference, the order is rejected and its reservation released.
        """
        side = Side(order["side"])
        if (order["type"] == OrderType.STOP_LIMIT and order.get("stop_triggered_at") is None
                and not marketable(side, from_units(order["limit_price"]), price)):
            return await self._done(await self.engine.store.unit_of_work.run(
                lambda writes: self._trigger(writes, order["user_id"], order["_id"])))
        liquidity = liquidity_of(OrderType(order["type"]), TimeInForce(order["time_in_force"]),
                                 bool(order.get("marketable")),
                                 order.get("stop_triggered_at") is not None)
        fill = (price if liquidity == Liquidity.MAKER else  # slippage: taker fills only
                self.engine.rules.fill_price(side, price,
                                             self.engine.asset_class(order["symbol"])))
        if order["type"] in (OrderType.LIMIT, OrderType.STOP_LIMIT):  # no worse than its limit
            limit = from_units(order["limit_price"])
            fill = min(fill, limit) if side == Side.BUY else max(fill, limit)
        fx = self.engine.conversion(order["symbol"])  # FxUnavailable: fill it later
        try:
            outcome = await self.engine.store.unit_of_work.run(
                lambda writes: self._fill(writes, order["user_id"], order["_id"], fill,
                                          liquidity, fx))
        except OrderNotOpen:
            return None  # cancelled or filled meanwhile
        filled = await self._done(outcome)
        if filled["status"] == OrderStatus.FILLED:
            await self.engine.bus.publish(OrderFilled(filled["user_id"], order_view(filled)))
        return filled

    async def _trigger(self, writes: Writes, user_id: str, order_id: str) -> Outcome:
        """A stop-limit order's stop is reached: from now on it is a limit order."""
        now = self.engine.now()
        triggered = await writes.update(
            "orders", order_id, {"user_id": user_id, "status": OrderStatus.OPEN,
                                 "stop_triggered_at": None},
            {"$set": {"stop_triggered_at": now}})
        if triggered is None:
            raise OrderNotOpen()
        account = await self._number(writes, user_id, 1)
        events: list[Event] = [("order_update", {"order": order_view(triggered)})]
        writes.insert("events", run_document(user_id, events, account["event_seq"], now))
        return Outcome(triggered, None, account, events, None)

    async def _fill(self, writes: Writes, user_id: str, order_id: str,
                    price: Decimal, liquidity: Liquidity, fx: Conversion) -> Outcome:
        engine, now = self.engine, self.engine.now()
        order = await writes.get("orders", order_id, user_id=user_id)
        if order is None or order["status"] != OrderStatus.OPEN:
            raise OrderNotOpen()
        reserved, reason, netted = order["reserved"], "insufficient_funds", None
        units = await self.legs.cap(writes, order)  # an exit sells at most what is held
        filling = {**order, "quantity": units}
        try:
            if units:
                netted = await engine.net_fill(
                    writes, {**filling, "pending": engine.open_step(
                        filling, price, liquidity, fx) | {"op": f"fill:{order_id}"}},
                    now, reserved=reserved)
            else:
                reason = "position_closed"
        except ShortNotAllowed:  # the position it was to close is gone
            reason = "short_not_allowed"
        if netted is None:  # cannot pay the difference: rejected, reservation released
            return await self._reject(writes, order, reason, now)
        changes = {k: v for k, v in netted.order.items() if k not in order or k == "status"
                   or v != order[k]}
        changes.pop("quantity", None)
        changes["filled_quantity"] = units
        if order["type"] == OrderType.STOP_LIMIT and order.get("stop_triggered_at") is None:
            changes["stop_triggered_at"] = now  # its stop and its limit in one tick
        filled = await writes.update("orders", order_id, {"status": OrderStatus.OPEN},
                                     {"$set": {**changes, "reserved": 0}})
        if filled is None:
            raise OrderNotOpen()
        # Its legs rest (an entry), or its siblings are cancelled (an exit).
        group = await self.legs.activate(writes, filled, netted.trade, now)
        events, account = merged(netted.events, group, netted.account)
        ended = await self.legs.end_with(writes, filled, now)
        events, account = merged(events, ended, account)
        writes.insert("events", run_document(user_id, events,
                                             account["event_seq"] - len(events) + 1, now))
        return Outcome(filled, netted.trade, account, events, None, netted.closed,
                       [*group.orders, *ended.orders])

    async def _reject(self, writes: Writes, order: Document, reason: str,
                      now: datetime) -> Outcome:
        """A fill that cannot be made: the order rejected, its reservation released, and
        its legs or siblings cancelled."""
        user_id, reserved = order["user_id"], order["reserved"]
        guard, change = moved(order, OrderStatus.REJECTED)
        rejected = await writes.update(
            "orders", order["_id"], guard,
            {"$set": {**change, "reject_reason": reason, "reserved": 0}})
        account = await writes.update(
            "accounts", user_id, {},
            {"$inc": {"reserved": -reserved, "available": reserved, "event_seq": 1}})
        if rejected is None or account is None:
            raise OrderNotOpen()
        group = await self.legs.end_with(writes, rejected, now)
        events, account = merged([("order_update", {"order": order_view(rejected)})], group,
                                 account)
        writes.insert("events", run_document(user_id, events,
                                             account["event_seq"] - len(events) + 1, now))
        return Outcome(rejected, None, account, events, None, legs=group.orders)
