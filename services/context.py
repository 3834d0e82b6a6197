"""What the trading commands share (services/engine.py composes them): the store, the
prices, the account rules, the clock and the events, and what opening a trade writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from feeds.hub import PriceHub
from services.events import Event, EventPublisher
from services.views import account_view, order_view, trade_view
from store.database import Document, stored_time
from store.store import Store
from trading.errors import DuplicateClientOrderId, StalePrice
from trading.events import Changed
from trading.money import from_units, to_units
from trading.orders import OrderStatus, Side, transition
from trading.trades import AccountRules, TradeStatus


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

    def opened_events(self, order: Document, trade: Document) -> list[Event]:
        return [("order_update", {"order": order_view(order)}),
                ("trade_update", {"event": "opened", "reason": None,
                                  "trade": trade_view(trade, self.prices())})]

