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
from typing import Any

from feeds.hub import PriceHub
from services.auth import new_id
from services.events import Event, EventPublisher
from services.fills import MarketFills
from services.resting import RestingOrders
from services.trades import Trades
from services.views import account_view, order_view, trade_view
from store.database import Document, stored_time
from store.store import Store
from trading.errors import (
    DuplicateClientOrderId,
    InvalidInput,
    StalePrice,
)
from trading.events import Changed
from trading.money import from_units, show, to_units, units_or_none
from trading.orders import (
    OrderRequest,
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


class TradingEngine:
    """Orders and trades of every account (module docstring)."""

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
        self.fills = MarketFills(self)
        self.resting = RestingOrders(self)
        self.trades = Trades(self)

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
        open_trades = await self.store.trades.find(user_id, status="open", limit=None)
        return account_view(account, open_trades, self.prices())

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
            raise InvalidInput("Short selling is disabled on this server.", field="side")
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
            "time_in_force": request.time_in_force.value, "status": "new",
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
        return await self.resting.place(order, self.resting.reservation(request), max_resting)

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
            "margin": step["margin"], "fees": step["fee"], "realized_pnl": 0, "status": "open",
            "pending": None, "exits": [], "opened_at": now, "closed_at": None,
            "close_reason": None, "close_price": None,
        }

    @staticmethod
    def fill_changes(order: Document, now: datetime) -> Document:
        """The fields an order's open (or fill) step sets when it ends."""
        return {"status": "filled", "filled_price": order["pending"]["price"], "filled_at": now,
                "trade_id": order["_id"]}

    def opened_events(self, order: Document, trade: Document) -> list[Event]:
        return [("order_update", {"order": order_view(order)}),
                ("trade_update", {"event": "opened", "reason": None,
                                  "trade": trade_view(trade, self.prices())})]

