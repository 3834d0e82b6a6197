"""What the trading commands share (services/engine.py composes them): the store, the
prices, the account rules, the clock and the events, and what opening a trade writes."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from feeds.hub import PriceHub
from services.events import Event, EventPublisher
from services.known import KnownAccounts
from services.views import (
    Holding,
    Prices,
    account_view,
    balances_view,
    holdings,
    order_view,
    position_row,
    trade_view,
)
from store.database import Document, stored_time
from store.ledger import ledger_entry
from store.store import Store
from store.trading import TradeStore
from store.unit_of_work import Writes
from trading.assets import AssetClass, rules_for
from trading.brackets import other_side
from trading.errors import (
    DuplicateClientOrderId,
    FxUnavailable,
    InsufficientFunds,
    ShortNotAllowed,
    StalePrice,
)
from trading.events import Changed
from trading.fees import Liquidity, allocate
from trading.fx import Conversion, FxRoute, find_route
from trading.money import from_units, show, to_units
from trading.orders import OrderStatus, Side, transition
from trading.positions import LotExit, exit_lot, exits_account_changes, first_in_first_out
from trading.trades import AccountRules, CloseReason, TradeStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Netted:
    """A fill into a net position: the order filled, the lot it opened (if any), the
    lots it closed or reduced (as they are after), the account after, and the events."""

    order: Document
    trade: Document | None
    closed: list[Document]
    account: Document
    events: list[Event]
    holdings: list[Holding]  # the symbol's position after the fill ([]: flat)


def position_event(symbol: str, after: list[Holding], prices: Prices, reason: str,
                   exits: Sequence[LotExit] = ()) -> Event:
    """A position_update: the symbol's position after a change (null when flat), why it
    changed, and the lots the change closed and reduced."""
    return ("position_update", {
        "symbol": symbol, "reason": reason, "trades_closed": sum(e.closes for e in exits),
        "trades_reduced": [e.lot_id for e in exits if not e.closes],
        "position": position_row(after[0], prices) if after else None})


def converted(fx: Conversion, amount_quote: int) -> Document:
    """What a ledger entry that fx converted records of it (nothing if none did)."""
    record = fx.record()
    return {**record, "amount_quote": amount_quote} if record else {}


def opened_fee(step: Document) -> Document:
    """What the ledger entry of an open step's fee records of its conversion."""
    if step.get("fx_rate") is None:
        return {}
    return {"currency": step["currency"], "fx_pair": step["fx_pair"],
            "fx_invert": step["fx_invert"], "fx_rate": step["fx_rate"],
            "amount_quote": -step["fee_quote"]}


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
        self.known = KnownAccounts()  # balances and positions, as commands here left them
        self.bus = events.bus
        # Each quote currency's route into the account currency (None: no pair for it).
        symbols = set(hub.universe.instruments)
        quotes = {i.rules.quote_currency for i in hub.universe.instruments.values()}
        self.routes: dict[str, FxRoute | None] = {
            quote: find_route(quote, currency, symbols) for quote in sorted(quotes)}
        for quote, route in self.routes.items():
            if route is None:
                log.warning("symbols quoted in %s cannot be traded: no FX pair converts %s "
                            "into %s (add one such as %s%s to MARKET_SYMBOLS)",
                            quote, quote, currency, currency, quote)

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

    def conversion(self, symbol: str) -> Conversion:
        """How symbol's quote currency converts into the account currency now, at a fresh
        rate; FxUnavailable when there is no pair for it or its price is stale."""
        currency = self.hub.universe.instruments[symbol].rules.quote_currency
        route = self.routes.get(currency)
        if route is None:
            raise FxUnavailable(
                f"{symbol} is priced in {currency} and no exchange rate from {currency} to "
                f"{self.currency} is configured (add an FX pair such as "
                f"{self.currency}{currency} to MARKET_SYMBOLS).",
                details={"symbol": symbol, "currency": currency, "pair": None})
        if route.pair is None:
            return Conversion(route)
        quote = self.hub.last.get(route.pair)
        if quote is None or self.hub.is_stale(route.pair):
            raise FxUnavailable(
                f"No fresh {route.pair} rate to convert {symbol}'s {currency} into "
                f"{self.currency}; try again when it trades.",
                details={"symbol": symbol, "currency": currency, "pair": route.pair})
        return Conversion(route, quote.price)

    def exit_conversion(self, trade: Document, strict: bool = True) -> Conversion:
        """The conversion an exit of trade uses: now's (conversion); if not strict (a reset,
        which must not wait), the latest rate known, else the trade's entry rate."""
        if strict:
            return self.conversion(trade["symbol"])
        return Conversion.recorded(trade, "entry_fx_rate").at(self.prices())

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

    @staticmethod
    def existing_order(order: Document, holder: Document | None) -> Document:
        """Answer an order whose client_order_id is taken (holder: the order that holds
        it, if it could be read): the holder if order repeats it (refused again as it
        was if it was refused for want of funds), else DuplicateClientOrderId."""
        if holder is None or holder["fingerprint"] != order["fingerprint"]:
            raise DuplicateClientOrderId(
                details={"order_id": None if holder is None else holder["_id"]})
        if (holder["status"] == OrderStatus.REJECTED
                and holder.get("reject_reason") == InsufficientFunds.code):
            raise InsufficientFunds("This order was refused: not enough available funds.",
                                    details={"order_id": holder["_id"]})
        return holder

    def asset_class(self, symbol: str) -> AssetClass:
        """A symbol's asset class (from the symbol alone if it is no longer configured)."""
        instrument = self.hub.universe.instruments.get(symbol)
        return (instrument.rules if instrument is not None
                else rules_for(symbol, "")).asset_class

    def fee(self, symbol: str, side: Side, price: Decimal, quantity: Decimal,
            liquidity: Liquidity) -> Decimal:
        """What a fill of symbol costs, in its quote currency (AccountRules.fee)."""
        return self.rules.fee(self.asset_class(symbol), side, price, quantity, liquidity)

    def reservation(self, symbol: str, side: Side, price: Decimal, quantity: Decimal,
                    closes: bool) -> int:
        """What resting an order of quantity at price takes from its account (units, in
        the account currency at the rate now; FxUnavailable): the larger of its maker and
        taker fee (which it pays is known when it fills), and its margin too unless it
        closes no more than the position holds (closes)."""
        fx = self.conversion(symbol)
        fee = fx.to_account(max(self.fee(symbol, side, price, quantity, liquidity)
                                for liquidity in Liquidity))
        if closes:
            return to_units(fee)
        return to_units(fx.to_account(self.rules.margin(side, price, quantity)) + fee)

    def open_step(self, order: Document, price: Decimal,
                  liquidity: Liquidity = Liquidity.TAKER,
                  fx: Conversion | None = None) -> Document:
        """The step that fills order at price: its margin and its fee (its liquidity's),
        converted into the account currency (fx, or the rate now), the fee before
        conversion (fee_quote) and the conversion's record."""
        side, quantity = Side(order["side"]), from_units(order["quantity"])
        fx = fx or self.conversion(order["symbol"])
        margin = self.rules.margin(side, price, quantity)
        fee = self.fee(order["symbol"], side, price, quantity, liquidity)
        step = {"op": f"open:{order['_id']}", "price": to_units(price),
                "margin": to_units(fx.to_account(margin)), "fee": to_units(fx.to_account(fee)),
                "fee_quote": to_units(fee), "liquidity": liquidity.value,
                "currency": fx.route.currency or None}
        if record := fx.record():
            step |= record
        return step

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
            "currency": step.get("currency"),
            **({"fx_pair": step["fx_pair"], "fx_invert": step["fx_invert"],
                "entry_fx_rate": step["fx_rate"]} if step.get("fx_rate") is not None else {}),
        }

    @staticmethod
    def fill_changes(order: Document, now: datetime) -> Document:
        """The fields an order's open (or fill) step sets when it ends."""
        step = order["pending"]
        return {"status": transition(OrderStatus(order["status"]), OrderStatus.FILLED),
                "filled_price": step["price"], "filled_at": now, "trade_id": order["_id"],
                "fee": step["fee"], "liquidity": step.get("liquidity", Liquidity.TAKER.value),
                **{field: step[field] for field in ("currency", "fx_pair", "fx_rate")
                   if step.get(field) is not None}}

    @staticmethod
    async def closed_by(writes: Writes, order: Document) -> list[Document]:
        """The user's open lots of order's symbol on the other side, oldest first, as the
        unit of work reads them: what the order closes first."""
        return await writes.find(
            "trades", {"user_id": order["user_id"], "status": TradeStatus.OPEN,
                       "symbol": order["symbol"], "side": other_side(Side(order["side"])).value},
            sort=[("opened_at", 1), ("_id", 1)])

    async def net_fill(self, writes: Writes, order: Document, now: datetime, *,
                       reserved: int = 0, lots: list[Document] | None = None
                       ) -> Netted | None:
        """Fill order (its open step, order["pending"], priced) into the user's net
        position in its symbol, in a unit of work: lots of the other side close first
        in, first out, and what is left over opens a lot. reserved: what the order
        held of the account, released. Writes the account, the lots and the ledger;
        the caller writes the order and the events. None (nothing written) if the
        account cannot pay. lots: the lots of the other side (closed_by), if the caller
        read them in this unit of work.

        The lots are read in the transaction's snapshot and written without guards (a
        lot the fill closes whole, a lot it reduces by an update): a lot another
        transaction changed since is a write conflict, and the unit of work starts
        again. Their realized PnL and fees go to the ledger as one entry
        each for the order. The user hears of the position after the fill as one
        position_update: the lots of the other side, which the fill closes, are read, and
        the database sums those of the order's side (each through the index of a
        user's open lots by symbol and side).
        """
        user_id, side, step = order["user_id"], Side(order["side"]), order["pending"]
        symbol, price = order["symbol"], from_units(step["price"])
        fx = Conversion.recorded(step)  # the fill's rate, for what it closes too
        if lots is None:
            lots = await self.closed_by(writes, order)
        same = Holding.summed(symbol, await TradeStore.holdings(writes, user_id, symbol,
                                                                side.value))
        taken = first_in_first_out(lots, order["quantity"])
        left = order["quantity"] - sum(units for _, units in taken)
        # The order's fee (a minimum or cap applies once) shared by what it closes and
        # opens, in the quote currency; each share is converted where it is booked.
        shares = allocate(step["fee_quote"], [units for _, units in taken] + [left])
        exits = [exit_lot(lot, units, price, CloseReason.ORDER, fee, now, fx)
                 for (lot, units), fee in zip(taken, shares, strict=False)]
        if left and side == Side.SELL and not self.shortable(symbol):
            holding = show(from_units(order["quantity"] - left))  # raised before any write
            raise ShortNotAllowed(f"{symbol} may not be sold short here: you hold {holding}.",
                                  field="quantity", details={"held": holding, "rule": "shortable"})
        opening = None
        if left:
            opening = {**order, "quantity": left}
            opening["pending"] = (step if not exits else self.open_step(opening, price, fx=fx) | {
                "op": step["op"], "fee": to_units(fx.to_account(from_units(shares[-1]))),
                "fee_quote": shares[-1], "liquidity": step.get("liquidity")})
        changes = Counter(exits_account_changes(exits))
        if opening is not None:
            changes.update(self.open_changes(opening["pending"]))
        changes.update({"reserved": -reserved, "available": reserved})
        # The order's event, the position's, the new lot's, the account's.
        count = 3 + (opening is not None)
        need = -changes["available"]
        account = await writes.update(
            "accounts", user_id, {"available": {"$gte": need}} if need > 0 else {},
            {"$inc": {**{k: v for k, v in changes.items() if v}, "event_seq": count},
             "$set": {"updated_at": now}})
        if account is None:
            return None
        closed = []
        for lot, lot_exit in zip(lots, exits, strict=False):
            settled = applied(lot, lot_exit.update)
            if lot_exit.closes:  # written whole: a replacement costs the engine less
                writes.replace_later("trades", lot["_id"], settled)
            else:
                writes.update_later("trades", lot["_id"], {}, lot_exit.update)
            closed.append(settled)
        for amount, quoted, reason, entry in (
                (changes["realized_pnl"], sum(e.pnl_quote for e in exits), "realized_pnl", "pnl"),
                (-sum(e.fee for e in exits), -sum(e.fee_quote for e in exits), "commission",
                 "fee")):
            if amount:
                writes.insert("ledger", ledger_entry(f"close:{order['_id']}:{entry}", user_id,
                                                     amount, reason, order["_id"], now,
                                                     converted(fx, quoted)))
        trade = None
        if opening is not None:
            trade = self.new_trade(opening, now)
            writes.insert("trades", trade)
            if opening["pending"]["fee"]:
                writes.insert("ledger", ledger_entry(
                    f"{step['op']}:fee", user_id, -opening["pending"]["fee"], "commission",
                    order["_id"], now, opened_fee(opening["pending"])))
        filled = {**order, "pending": None, **self.fill_changes(order, now),
                  "trade_id": None if trade is None else trade["_id"]}
        prices = self.prices()
        remaining = [lot for lot in closed if lot["quantity"]] + lots[len(exits):]
        adding = same[0].plus(trade) if same and trade else same[0] if same else (
            Holding.of([trade]) if trade else None)
        after = sorted([*holdings(remaining), *([adding] if adding else [])],
                       key=lambda h: h.side)
        events: list[Event] = [("order_update", {"order": order_view(filled)}),
                               position_event(symbol, after, prices, CloseReason.ORDER.value,
                                              exits)]
        if trade is not None:
            events.append(("trade_update", {"event": "opened", "reason": None,
                                            "trade": trade_view(trade, prices)}))
        events.append(("account_update", {"account": balances_view(account)}))
        return Netted(filled, trade, closed, account, events, after)
