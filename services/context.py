"""What the trading commands share (services/engine.py composes them): the store, the
prices, the account rules, the clock and the events, and what opening a trade writes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from feeds.hub import PriceHub
from services.events import Event, EventPublisher
from services.views import (
    account_view,
    balances_view,
    order_view,
    positions_view,
    trade_view,
)
from store.database import Document, stored_time
from store.ledger import ledger_entry
from store.store import Store
from store.unit_of_work import Writes
from trading.errors import DuplicateClientOrderId, ShortNotAllowed, StalePrice
from trading.events import Changed
from trading.money import from_units, show, to_units
from trading.orders import OrderStatus, Side, transition
from trading.positions import exit_lot, exits_account_changes, first_in_first_out
from trading.trades import AccountRules, CloseReason, TradeStatus


@dataclass(frozen=True)
class Netted:
    """A fill into a net position: the order filled, the lot it opened (if any), the
    lots it closed or reduced (as they are after), the account after, and the events."""

    order: Document
    trade: Document | None
    closed: list[Document]
    account: Document
    events: list[Event]
    side_after: str | None  # the position's side after the fill (None: flat)


def applied(doc: Document, update: Mapping[str, Any]) -> Document:
    """doc after an update of $inc, $push and $set (as the database would make it)."""
    after = {**doc, **update.get("$set", {})}
    for field, amount in update.get("$inc", {}).items():
        after[field] = after.get(field, 0) + amount
    for field, value in update.get("$push", {}).items():
        after[field] = [*after.get(field, []), value]
    return after


class TradingContext:
    """What every trading command shares: the store, the prices, the rules, the clock,
    the events, and the steps of opening a trade."""

    def __init__(self, store: Store, hub: PriceHub, rules: AccountRules, initial_cash: Decimal,
                 currency: str, events: EventPublisher, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.hub = hub
        self.rules = rules
        self.initial = to_units(initial_cash)
        self.currency = currency
        self.events = events
        self.clock = clock
        self._known_accounts: set[str] = set()
        self.bus = events.bus

    def now(self) -> datetime:
        return stored_time(self.clock())

    async def changed(self, kind: str, document: Document) -> None:
        """Tell the subscribers (the price monitor, the cluster) a new state is stored."""
        await self.bus.publish(Changed(kind, document))

    def prices(self) -> dict[str, Decimal]:
        return {symbol: quote.price for symbol, quote in self.hub.last.items()}

    def fresh_price(self, symbol: str) -> Decimal:
        """The current price of a symbol, or StalePrice."""
        quote = self.hub.last.get(symbol)
        if quote is None or self.hub.is_stale(symbol):
            raise StalePrice(f"No fresh price for {symbol}; try again when it trades.",
                             details={"symbol": symbol})
        return quote.price

    # -- account -----------------------------------------------------------

    async def account(self, user_id: str) -> Document:
        account = await self.store.accounts.get_or_create(user_id, self.initial, self.currency,
                                                          self.now())
        self._known_accounts.add(user_id)
        return account

    async def ensure_account(self, user_id: str) -> None:
        """Create the user's account if this process has not seen it yet."""
        if user_id not in self._known_accounts:
            await self.account(user_id)

    async def account_view(self, user_id: str) -> dict[str, Any]:
        account = await self.account(user_id)
        open_trades = await self.store.trades.find(user_id, status=TradeStatus.OPEN, limit=None)
        return account_view(account, open_trades, self.prices())

    def shortable(self, symbol: str) -> bool:
        """Whether symbol may be sold short here (ALLOW_SHORTS, and the asset's rules)."""
        instrument = self.hub.universe.instruments.get(symbol)
        return self.rules.allow_shorts and (instrument is None or instrument.rules.shortable)

    async def held(self, user_id: str, symbol: str, side: Side) -> Decimal:
        """How much of symbol the user holds on side (the open lots' quantities)."""
        return from_units((await self.store.trades.held(user_id, symbol)).get(side, 0))

    async def existing_order(self, order: Document, claim: Document | None) -> Document:
        """Answer an order whose client_order_id is taken (claim: the holder's claim, if
        it could be read): the stored order if order repeats it, else
        DuplicateClientOrderId."""
        if claim is None or claim["fingerprint"] != order["fingerprint"]:
            raise DuplicateClientOrderId(
                details={"order_id": None if claim is None else claim["_id"]})
        # A claim and its order are committed together: the order is there.
        return await self.store.orders.get(claim["user_id"], claim["_id"]) or claim

    def open_step(self, order: Document, price: Decimal) -> Document:
        """The step that opens a trade for order at price: its margin and fee."""
        side, quantity = Side(order["side"]), from_units(order["quantity"])
        margin = self.rules.margin(side, price, quantity)
        fee = self.rules.commission(price, quantity)
        return {"op": f"open:{order['_id']}", "price": to_units(price),
                "margin": to_units(margin), "fee": to_units(fee)}

    @staticmethod
    def open_changes(step: Document) -> dict[str, int]:
        """What an open step takes from its account (an $inc)."""
        cost = step["margin"] + step["fee"]
        return {"available": -cost, "margin_used": step["margin"], "cash": -step["fee"],
                "fees": step["fee"]}

    def new_trade(self, order: Document, now: datetime) -> Document:
        """The trade an order's open (or fill) step opens."""
        step, user_id = order["pending"], order["user_id"]
        return {
            "_id": order["_id"], "user_id": user_id, "order_id": order["_id"],
            "symbol": order["symbol"], "side": order["side"], "quantity": order["quantity"],
            "initial_quantity": order["quantity"], "entry_price": step["price"],
            "stop_loss": order["stop_loss"], "target_price": order["target_price"],
            "trailing_amount": order.get("trailing_amount"),
            "trailing_percent": order.get("trailing_percent"), "trail_best": step["price"],
            "margin": step["margin"], "fees": step["fee"], "realized_pnl": 0,
            "status": TradeStatus.OPEN, "pending": None, "exits": [], "opened_at": now,
            "closed_at": None, "close_reason": None, "close_price": None,
        }

    @staticmethod
    def fill_changes(order: Document, now: datetime) -> Document:
        """The fields an order's open (or fill) step sets when it ends."""
        return {"status": transition(OrderStatus(order["status"]), OrderStatus.FILLED),
                "filled_price": order["pending"]["price"], "filled_at": now,
                "trade_id": order["_id"]}

    async def net_fill(self, writes: Writes, order: Document, now: datetime, *,
                       reserved: int = 0) -> Netted | None:
        """Fill order (its open step, order["pending"], priced) into the user's net
        position in its symbol, in a unit of work: lots of the other side close first
        in, first out, and what is left over opens a lot. reserved: what the order
        held of the account, released. Writes the account, the lots and the ledger;
        the caller writes the order and the events. None (nothing written) if the
        account cannot pay.

        The lots are read in the transaction's snapshot and updated without guards:
        a lot another transaction changed since is a write conflict, and the unit of
        work starts again. Their realized PnL and fees go to the ledger as one entry
        each for the order, and the user hears of them as one position_update.
        """
        user_id, side, step = order["user_id"], Side(order["side"]), order["pending"]
        symbol, price = order["symbol"], from_units(step["price"])
        other = Side.SELL if side == Side.BUY else Side.BUY
        lots = await writes.find("trades", {"user_id": user_id, "symbol": symbol,
                                            "status": TradeStatus.OPEN, "side": other},
                                 sort=[("opened_at", 1), ("_id", 1)], without=("exits",))
        exits = [exit_lot(lot, units, price, CloseReason.ORDER, self.rules, now)
                 for lot, units in first_in_first_out(lots, order["quantity"])]
        left = order["quantity"] - sum(e.units for e in exits)
        if left and side == Side.SELL and not self.shortable(symbol):
            holding = show(from_units(order["quantity"] - left))  # raised before any write
            raise ShortNotAllowed(f"{symbol} may not be sold short here: you hold {holding}.",
                                  field="quantity", details={"held": holding, "rule": "shortable"})
        opening = None
        if left:
            opening = {**order, "quantity": left}
            opening["pending"] = (step if not exits else
                                  self.open_step(opening, price) | {"op": step["op"]})
        changes = Counter(exits_account_changes(exits))
        if opening is not None:
            changes.update(self.open_changes(opening["pending"]))
        changes.update({"reserved": -reserved, "available": reserved})
        # The order's event, the position's (if lots closed), the new lot's, the account's.
        count = 2 + bool(exits) + (opening is not None)
        need = -changes["available"]
        account = await writes.update(
            "accounts", user_id, {"available": {"$gte": need}} if need > 0 else {},
            {"$inc": {**{k: v for k, v in changes.items() if v}, "event_seq": count},
             "$set": {"updated_at": now}})
        if account is None:
            return None
        closed = []
        for lot, lot_exit in zip(lots, exits, strict=False):
            writes.update_later("trades", lot["_id"], {}, lot_exit.update)
            closed.append(applied(lot, lot_exit.update))
        for amount, reason, entry in ((changes["realized_pnl"], "realized_pnl", "pnl"),
                                      (-sum(e.fee for e in exits), "commission", "fee")):
            if amount:
                writes.insert("ledger", ledger_entry(f"close:{order['_id']}:{entry}", user_id,
                                                     amount, reason, order["_id"], now))
        trade = None
        if opening is not None:
            trade = self.new_trade(opening, now)
            writes.insert("trades", trade)
            if opening["pending"]["fee"]:
                writes.insert("ledger", ledger_entry(
                    f"{step['op']}:fee", user_id, -opening["pending"]["fee"], "commission",
                    order["_id"], now))
        filled = {**order, "pending": None, **self.fill_changes(order, now),
                  "trade_id": None if trade is None else trade["_id"]}
        prices = self.prices()
        held = sum(int(lot["quantity"]) for lot in lots) - sum(e.units for e in exits)
        events: list[Event] = [("order_update", {"order": order_view(filled)})]
        if exits:
            remaining = [lot for lot in closed if lot["quantity"]] + lots[len(exits):]
            rows = positions_view(remaining, prices)
            events.append(("position_update", {
                "symbol": symbol, "reason": CloseReason.ORDER.value,
                "trades_closed": sum(e.closes for e in exits),
                "trades_reduced": [e.lot_id for e in exits if not e.closes],
                "position": rows[0] if rows else None}))
        if trade is not None:
            events.append(("trade_update", {"event": "opened", "reason": None,
                                            "trade": trade_view(trade, prices)}))
        events.append(("account_update", {"account": balances_view(account)}))
        side_after = side.value if trade is not None else other.value if held else None
        return Netted(filled, trade, closed, account, events, side_after)

    def opened_events(self, order: Document, trade: Document) -> list[Event]:
        return [("order_update", {"order": order_view(order)}),
                ("trade_update", {"event": "opened", "reason": None,
                                  "trade": trade_view(trade, self.prices())})]

