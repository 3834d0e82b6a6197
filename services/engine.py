"""The trading engine: orders, trades and account money, exact under retries and crashes.

Every command that moves money is one unit of work (store/unit_of_work.py): its
writes (the account's guarded $inc, the order, the trade, the ledger, the
events) commit together or not at all, so a crash leaves nothing half-done
and a retry finds either all of it or none. A client_order_id is made taken
by the order's claim, in the same transaction.

Placing an order, and what opening a trade writes, are here; market orders
are filled by services/fills.py, limit and stop orders rest, fill and end in
services/resting.py, exits are in services/trades.py and resets in services/reset.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from feeds.hub import PriceHub
from services.auth import new_id
from services.context import TradingContext
from services.events import EventPublisher
from services.fills import MarketFills
from services.resting import RestingOrders
from services.trades import Trades
from store.database import Document
from store.store import Store
from trading.errors import (
    ShortNotAllowed,
)
from trading.money import show, to_units, units_or_none
from trading.orders import (
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    validate_order,
)
from trading.trades import AccountRules


def fingerprint(request: OrderRequest) -> str:
    """Identifies an order's parameters, to tell a retry from a reused client_order_id."""
    fields = [request.symbol, request.side, request.type, request.quantity, request.limit_price,
              request.stop_price, request.stop_loss, request.target_price,
              request.time_in_force]
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
        self.fills = MarketFills(self)
        self.resting = RestingOrders(self)
        self.trades = Trades(self)

    # -- orders --------------------------------------------------------------

    async def place_order(self, user_id: str, request: OrderRequest,
                          max_resting: int = 0) -> Document:
        """Fill a market order now, or rest a limit/stop order with funds reserved.

        max_resting (0: no cap): the most resting orders the user may have; a
        limit or stop order past it is rejected (``limit_exceeded``) and
        LimitExceeded raised (RestingOrders.place).
        """
        instrument = self.hub.universe.instruments[request.symbol]
        if request.side == Side.SELL and not self.rules.allow_shorts:
            held = await self.held(user_id, request.symbol, Side.BUY)
            if request.quantity > held:
                raise ShortNotAllowed(
                    f"Short selling is disabled on this server: you hold {show(held)} "
                    f"{request.symbol}.", field="quantity", details={"held": show(held)})
        market = self.fresh_price(request.symbol) if request.type == OrderType.MARKET else None
        validate_order(request, instrument.quantity_decimals, market)
        await self.ensure_account(user_id)
        order_id = new_id()
        order: Document = {
            "_id": order_id, "user_id": user_id,
            "client_order_id": request.client_order_id or order_id,
            "fingerprint": fingerprint(request), "symbol": request.symbol,
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
        }
        if market is not None:
            order["pending"] = self.open_step(order, self.rules.fill_price(request.side, market))
            return await self.fills.fill(order)
        order["pending"] = None
        other = Side.SELL if request.side == Side.BUY else Side.BUY
        held = await self.held(user_id, request.symbol, other)
        return await self.resting.place(order, self.resting.reservation(request, held),
                                        max_resting)
