"""The trading engine: orders, trades and account money, exact under retries and crashes.

Every command that moves money is one unit of work (store/unit_of_work.py): its
writes (the account's guarded $inc, the order, the trade, the ledger, the
events) commit together or not at all, so a crash leaves nothing half-done
and a retry finds either all of it or none. A client_order_id is made taken
by the order itself ((user_id, client_order_id) is unique in orders), in the
same transaction.

Placing an order, and what opening a trade writes, are here; market orders
are filled by services/fills.py, limit and stop orders rest, fill and end in
services/resting.py, exits are in services/trades.py and resets in services/reset.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from feeds.hub import PriceHub
from services.auth import new_id
from services.brackets import Legs
from services.context import TradingContext
from services.events import EventPublisher
from services.fills import MarketFills
from services.resting import RestingOrders
from services.trades import Trades
from store.database import Document
from store.store import Store
from trading.assets import AssetRules
from trading.brackets import (
    LegRole,
    check_class_fields,
    leg_requests,
    oco_parent,
    validate_class,
)
from trading.errors import (
    InvalidInput,
    InvalidQuantity,
    NotFillable,
    NotFound,
    OrderNotOpen,
    PaperDeskError,
    ShortNotAllowed,
)
from trading.market import Instrument
from trading.money import from_units, show, to_units, units_or_none
from trading.orders import (
    OrderClass,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    check_price,
    check_stop_uncrossed,
    ended_as,
    marketable,
    quantity_for,
    trail_improves,
    trail_stop,
    validate_order,
)
from trading.trades import AccountRules


def fingerprint(request: OrderRequest) -> str:
    """Identifies an order's parameters, to tell a retry from a reused client_order_id."""
    fields = [request.symbol, request.side, request.type, request.quantity, request.limit_price,
              request.stop_price, request.stop_loss, request.target_price,
              request.time_in_force]
    if request.notional is not None:  # as sent: the quantity it buys depends on the price
        fields.append(f"notional:{request.notional}")
    if request.type == OrderType.TRAILING_STOP:
        fields.append(f"trail:{request.trail_price}:{request.trail_percent}")
    if request.order_class != OrderClass.SIMPLE:  # simple orders' fingerprints stay as they were
        fields.append(f"class:{request.order_class}:{request.exits}")
    return hashlib.sha256(repr([str(f) for f in fields]).encode()).hexdigest()[:32]


def end_of_day(moment: datetime) -> datetime:
    """The next 00:00 UTC: when a day order expires (markets here trade around the clock)."""
    return datetime.combine(moment.astimezone(UTC).date() + timedelta(days=1), time(),
                            tzinfo=UTC)


class TradingEngine(TradingContext):
    """Orders and trades of every account (module docstring)."""

    def __init__(self, store: Store, hub: PriceHub, rules: AccountRules, initial_cash: Decimal,
                 currency: str, events: EventPublisher, clock: Callable[[], datetime]) -> None:
        super().__init__(store, hub, rules, initial_cash, currency, events, clock)
        self.legs = Legs(self)
        self.fills = MarketFills(self)
        self.resting = RestingOrders(self)
        self.trades = Trades(self)

    # -- orders --------------------------------------------------------------

    async def replace_order(self, user_id: str, order_id: str,
                            changes: dict[str, Any]) -> tuple[Document, Document]:
        """Replace a resting order with one whose quantity, prices, time in force or
        client_order_id differ (the fields in changes; the rest as they were): the old
        order ends replaced and the new one rests, in one unit of work."""
        old = await self.store.orders.get(user_id, order_id)
        if old is None:
            raise NotFound("No such order.")
        if old["status"] != OrderStatus.OPEN:
            raise OrderNotOpen(details={"status": old["status"]})
        if old.get("order_class", "simple") != OrderClass.SIMPLE or old.get("parent_id"):
            raise InvalidInput("Bracket, oto and oco orders and their legs cannot be "
                               "replaced; cancel and place them again.", field="order_id")
        fields = {"quantity": from_units(old["quantity"]),
                  **{name: None if old[name] is None else from_units(old[name])
                     for name in ("limit_price", "stop_price", "stop_loss", "target_price",
                                  "trailing_amount")},
                  "time_in_force": TimeInForce(old["time_in_force"]),
                  "trailing_percent": None if old.get("trailing_percent") is None
                  else Decimal(old["trailing_percent"]), **self._trail_fields(old, changes),
                  **changes}
        request = OrderRequest(symbol=old["symbol"], side=Side(old["side"]),
                               type=OrderType(old["type"]), **fields)
        if request.time_in_force in (TimeInForce.IOC, TimeInForce.FOK, TimeInForce.OPG) or \
                old["type"] == OrderType.MARKET:
            raise InvalidInput("A resting order cannot become ioc, fok or opg, and a market "
                               "order for the open cannot be replaced: cancel it and place "
                               "another.", field="time_in_force")
        instrument = self.hub.universe.instruments[request.symbol]
        hwm = None
        if request.type == OrderType.TRAILING_STOP:  # the best price so far carries over
            hwm = self._replaced_hwm(old)
            request = replace(request, stop_price=changes.get("stop_price"))
        validate_order(request, instrument.quantity_decimals, hwm, instrument.rules)
        triggered = old.get("stop_triggered_at")  # a limit order now: its stop is behind it
        if triggered is None:
            check_stop_uncrossed(request, self.quoted(request.symbol))
        if hwm is not None:
            request = self.trailed(request, hwm)
        new = self.new_order(user_id, request, hwm=hwm) | {"replaces": order_id,
                                                            "pending": None}
        if triggered is not None:
            new["stop_triggered_at"] = triggered
        other = Side.SELL if request.side == Side.BUY else Side.BUY
        held = await self.held(user_id, request.symbol, other)
        return await self.resting.replace(user_id, order_id, new,
                                          self.resting.reservation(request, held))

    @staticmethod
    def _trail_fields(old: Document, changes: dict[str, Any]) -> dict[str, Any]:
        """A replaced trailing_stop order's trail: the one sent (sending one of
        trail_price and trail_percent drops the other), else the old one."""
        if "trail_price" in changes or "trail_percent" in changes:
            return {"trail_price": None, "trail_percent": None}
        amount, percent = old.get("trail_price"), old.get("trail_percent")
        return {"trail_price": None if amount is None else from_units(amount),
                "trail_percent": None if percent is None else Decimal(percent)}

    def _replaced_hwm(self, old: Document) -> Decimal:
        """The best price a replacement of a trailing_stop order starts from: the old
        one's (as last saved), or the price now if that is better."""
        hwm = from_units(old["hwm"])
        quote = self.hub.last.get(old["symbol"])
        if quote is not None and trail_improves(Side(old["side"]), quote.price, hwm):
            return quote.price
        return hwm

    def trailed(self, request: OrderRequest, hwm: Decimal) -> OrderRequest:
        """A trailing_stop order with its stop_price at hwm (reserved at, and shown)."""
        rules = self.hub.universe.instruments[request.symbol].rules
        stop = trail_stop(request.side, hwm, request.trail_price, request.trail_percent,
                          rules.tick(hwm))
        check_price(stop, "trail_price" if request.trail_price is not None else "trail_percent")
        return replace(request, stop_price=stop)

    def last_price(self, symbol: str) -> Decimal:
        """The latest price of a symbol, fresh or not (a trailing stop's first best);
        StalePrice if it never traded."""
        price = self.quoted(symbol)
        return self.fresh_price(symbol) if price is None else price

    def new_order(self, user_id: str, request: OrderRequest,
                  sent: str | None = None, hwm: Decimal | None = None) -> Document:
        """A new order's document (status new), as it is stored; sent: the fingerprint
        of the request as the client sent it; hwm: a trailing_stop order's best price so
        far."""
        order_id = new_id()
        order: Document = {
            "_id": order_id, "user_id": user_id,
            "client_order_id": request.client_order_id or order_id,
            "fingerprint": sent or fingerprint(request), "symbol": request.symbol,
            "side": request.side.value, "type": request.type.value,
            "quantity": to_units(request.quantity),
            "limit_price": units_or_none(request.limit_price),
            "stop_price": units_or_none(request.stop_price),
            "stop_loss": units_or_none(request.stop_loss),
            "target_price": units_or_none(request.target_price),
            "time_in_force": request.time_in_force.value, "status": OrderStatus.NEW,
            "expires_at": end_of_day(self.now())
            if request.time_in_force == TimeInForce.DAY else None,
            "trailing_amount": units_or_none(request.trailing_amount),
            "trailing_percent": None if request.trailing_percent is None
            else show(request.trailing_percent),
            "reject_reason": None, "reserved": 0, "created_at": self.now(),
            "order_class": request.order_class.value,
            # A limit order that could fill at once takes liquidity when it fills.
            "marketable": self._marketable(request), "fee": None, "liquidity": None,
        }
        if request.type == OrderType.TRAILING_STOP:
            order.update(trail_price=units_or_none(request.trail_price),
                         trail_percent=None if request.trail_percent is None
                         else show(request.trail_percent), hwm=units_or_none(hwm))
        if request.reduce_only:
            order["reduce_only"] = True
        return order

    def _marketable(self, request: OrderRequest) -> bool:
        quote = self.hub.last.get(request.symbol)
        return (request.type == OrderType.LIMIT and request.limit_price is not None
                and quote is not None
                and marketable(request.side, request.limit_price, quote.price))

    def leg_orders(self, user_id: str, parent: Document, request: OrderRequest,
                   status: OrderStatus) -> list[Document]:
        """The legs of a bracket, oto or oco order (parent: its document, given its legs'
        ids here), each new and to be stored as status: held until the entry fills, or
        open (an oco's)."""
        legs = []
        for role, leg_request in leg_requests(request):
            leg = ended_as(self.new_order(user_id, leg_request), status) | {
                "order_class": request.order_class.value, "parent_id": parent["_id"],
                "leg_role": role.value, "pending": None}
            legs.append(leg)
        ids = [leg["_id"] for leg in legs]
        if request.order_class == OrderClass.OCO:
            parent.update(legs=ids, oco_with=ids, leg_role=LegRole.TAKE_PROFIT.value)
            for leg in legs:
                leg["oco_with"] = [parent["_id"]]
        else:
            parent["legs"] = ids
            for leg in legs:
                leg["oco_with"] = [other for other in ids if other != leg["_id"]]
        return legs

    def notional_order(self, request: OrderRequest, decimals: int) -> OrderRequest:
        """A market order for notional (quote currency) as the quantity it buys now."""
        notional = request.notional
        if request.type != OrderType.MARKET or notional is None:
            raise InvalidInput("notional is for market orders; send quantity otherwise.",
                               field="notional")
        if not notional.is_finite() or notional <= 0:
            raise InvalidInput("'notional' must be greater than zero.", field="notional")
        price = self.fresh_price(request.symbol)
        quantity = quantity_for(notional, price, decimals)
        if quantity <= 0:
            raise InvalidInput(f"{show(notional)} buys less than the smallest quantity of "
                               f"{request.symbol} that trades at {show(price)}.",
                               field="notional", details={"price": show(price)})
        return replace(request, quantity=quantity, notional=None)

    async def _checked(self, user_id: str, request: OrderRequest, instrument: Instrument
                       ) -> tuple[OrderRequest, Decimal | None, Decimal | None, Decimal | None]:
        """What placing request needs checked against the rules, the market and the
        account now: the request as it is placed (an oco's, a notional one's, a trailing
        stop's made concrete), the market price it fills or trails at (None: it rests),
        its reference price, and the price it fills at now (None: it rests)."""
        if request.order_class != OrderClass.SIMPLE or request.exits is not None:
            check_class_fields(request)
        if request.order_class == OrderClass.OCO:
            request = await self._oco(user_id, request, instrument.rules)
        if self.hub.hours is not None:
            self.hub.hours.check(request, self.clock())
        if request.notional is not None:
            request = self.notional_order(request, instrument.quantity_decimals)
        shortable = self.rules.allow_shorts and instrument.rules.shortable
        if request.side == Side.SELL and not shortable:
            held = await self.held(user_id, request.symbol, Side.BUY)
            if request.quantity > held:
                why = (f"{request.symbol} is not shortable" if self.rules.allow_shorts
                       else "Short selling is disabled on this server")
                raise ShortNotAllowed(f"{why}: you hold {show(held)} {request.symbol}.",
                                      field="quantity",
                                      details={"held": show(held), "rule": "shortable"})
        now_or_never = request.time_in_force in (TimeInForce.IOC, TimeInForce.FOK)
        trailing = request.type == OrderType.TRAILING_STOP
        market = (self.fresh_price(request.symbol)
                  if request.type == OrderType.MARKET or now_or_never else
                  self.last_price(request.symbol) if trailing else None)
        reference = validate_order(request, instrument.quantity_decimals, market,
                                   instrument.rules)
        check_stop_uncrossed(request, self.quoted(request.symbol))
        if trailing and market is not None:
            request, market = self.trailed(request, market), None  # it rests at its stop
        if request.order_class in (OrderClass.BRACKET, OrderClass.OTO):
            validate_class(request, reference, instrument.rules)
        asset_class = instrument.rules.asset_class
        fill_at = (None if market is None or request.at_open
                   else self.rules.fill_price(request.side, market, asset_class))
        if now_or_never and request.type == OrderType.LIMIT and fill_at is not None:
            limit, quote = request.limit_price, market or Decimal(0)
            if limit is None or not marketable(request.side, limit, quote):
                raise NotFillable(f"A {request.time_in_force} limit order fills now or not "
                                  f"at all: {request.symbol} is at {show(quote)}.",
                                  details={"price": show(quote)})
            # No worse than its limit, slippage or not.
            fill_at = min(fill_at, limit) if request.side == Side.BUY else max(fill_at, limit)
        return request, market, reference, fill_at

    async def _stored_retry(self, user_id: str, request: OrderRequest,
                            sent: str) -> Document | None:
        """The order stored under request's client_order_id if request repeats it
        (existing_order), else None."""
        if request.client_order_id is None:
            return None
        holder = await self.store.orders.holder(user_id, request.client_order_id)
        if holder is None or holder["fingerprint"] != sent:
            return None
        return self.existing_order({"fingerprint": sent}, holder)

    async def place_order(self, user_id: str, request: OrderRequest,
                          max_resting: int = 0) -> Document:
        """Fill a market order now, or rest a limit/stop order with funds reserved.

        max_resting (0: no cap): the most resting orders the user may have; a
        limit or stop order past it is rejected (``limit_exceeded``) and
        LimitExceeded raised (RestingOrders.place).
        """
        instrument = self.hub.universe.instruments[request.symbol]
        sent = fingerprint(request)
        try:
            request, market, reference, fill_at = await self._checked(user_id, request,
                                                                      instrument)
        except PaperDeskError:
            # The checks see the market and the account as they are now: a retry of an
            # order stored before they changed is answered by that order.
            if (stored := await self._stored_retry(user_id, request, sent)) is not None:
                return stored
            raise
        trailing = request.type == OrderType.TRAILING_STOP
        await self.ensure_account(user_id)
        order = self.new_order(user_id, request, sent, hwm=reference if trailing else None)
        oco = request.order_class == OrderClass.OCO
        legs = self.leg_orders(user_id, order, request,
                               OrderStatus.OPEN if oco else OrderStatus.HELD)
        if fill_at is not None:
            order["pending"] = self.open_step(order, fill_at)
            return await self.fills.fill(order, legs, max_resting)
        order["pending"] = None
        other = Side.SELL if request.side == Side.BUY else Side.BUY
        held = await self.held(user_id, request.symbol, other)
        return await self.resting.place(
            order, self.resting.reservation(request, held, market), max_resting,
            [(leg, self.legs.reservation(leg, to_units(held)) if oco else 0) for leg in legs])

    def quoted(self, symbol: str) -> Decimal | None:
        """The latest price of a symbol, fresh or not; None if it never traded."""
        quote = self.hub.last.get(symbol)
        return None if quote is None else quote.price

    async def _oco(self, user_id: str, request: OrderRequest, rules: AssetRules) -> OrderRequest:
        """Check an oco order against the market and the position it exits; the order as
        it rests (its take-profit limit)."""
        quote = self.hub.last.get(request.symbol)
        validate_class(request, None if quote is None else quote.price, rules)
        held = await self.held(user_id, request.symbol,
                               Side.BUY if request.side == Side.SELL else Side.SELL)
        if request.quantity > held:
            raise InvalidQuantity(f"An oco order exits a position: it holds {show(held)} "
                                  f"{request.symbol} to {request.side}.", field="quantity",
                                  details={"held": show(held)})
        return oco_parent(request)
