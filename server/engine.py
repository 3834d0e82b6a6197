"""The trading engine: orders, trades and account money, exact under retries and crashes.

Each operation is a short series of idempotent steps. The first step records
what is about to happen (field ``pending`` of the order's claim, the order
or the trade); the account change is one conditional update that also notes
the step's op id in ``pending_ops``, so it can never apply twice; the
remaining writes are inserts with fixed ids or updates conditional on the
same op. ``recover`` finishes (or, before the account was touched, abandons)
whatever a crash cut short.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from feeds.hub import PriceHub
from server.auth import new_id
from server.events import Event, EventPublisher
from server.fills import MarketFills
from server.views import account_view, balances_view, order_view, trade_view
from store.database import Document, stored_time
from store.store import Store
from trading.errors import (
    DuplicateClientOrderId,
    InsufficientFunds,
    InvalidInput,
    InvalidQuantity,
    NotFound,
    OrderNotOpen,
    StalePrice,
    TradeNotOpen,
)
from trading.money import from_units, show, to_units
from trading.orders import (
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
    check_exit_levels,
    check_quantity,
    check_trailing,
    validate_order,
)
from trading.trades import AccountRules, CloseReason, realized_pnl

log = logging.getLogger(__name__)


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


def _units(value: Decimal | None) -> int | None:
    return None if value is None else to_units(value)


async def _none_alive() -> set[str]:
    return set()


class TradingEngine:
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
        # Called with ("trade" | "order", document) after every change of state,
        # so the price monitor can keep its triggers in step.
        self.watchers: list[Callable[[str, Document], None]] = []
        # With several processes: this one's cluster node id, written into every
        # journaled step, so the leader's sweep leaves the steps of live processes alone.
        self.node: str | None = None
        # With several processes: the nodes alive now (Cluster.alive_nodes).
        self.alive: Callable[[], Awaitable[set[str]]] = _none_alive
        # Resting orders between their claim and their first write (settle_claim).
        self._placing: dict[str, asyncio.Event] = {}
        self.fills = MarketFills(self)

    def now(self) -> datetime:
        return stored_time(self.clock())

    def changed(self, kind: str, document: Document) -> None:
        for watcher in self.watchers:
            watcher(kind, document)

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
        open_trades = await self.store.trades.find(user_id, status="open")
        return account_view(account, open_trades, self.prices())

    async def _announce(self, user_id: str, op: str | None,
                        *events: tuple[str, dict[str, Any]]) -> None:
        """End op (if any) and publish events followed by the account's new balances."""
        count = len(events) + 1
        account = (await self.store.accounts.finish(user_id, op, count) if op is not None
                   else await self.store.accounts.number_events(user_id, count))
        if account is None:
            raise RuntimeError(f"no account for user {user_id}")
        balances = ("account_update", {"account": balances_view(account)})
        await self.events.publish_numbered(user_id, account["event_seq"], [*events, balances])

    # -- orders --------------------------------------------------------------

    async def place_order(self, user_id: str, request: OrderRequest) -> Document:
        """Fill a market order now, or rest a limit/stop order with funds reserved."""
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
            "quantity": to_units(request.quantity), "limit_price": _units(request.limit_price),
            "stop_price": _units(request.stop_price), "stop_loss": _units(request.stop_loss),
            "target_price": _units(request.target_price),
            "time_in_force": request.time_in_force.value, "status": "new",
            "expires_at": end_of_day(self.now())
            if request.time_in_force == TimeInForce.DAY else None,
            "trailing_amount": _units(request.trailing_amount),
            "trailing_percent": None if request.trailing_percent is None
            else str(request.trailing_percent),
            "reject_reason": None, "reserved": 0, "created_at": self.now(),
        }
        if market is not None:
            order["pending"] = self._open_step(order, self.rules.fill_price(request.side, market))
            return await self.fills.fill(order)
        order["pending"] = self._reserve_step(order, request)
        if taken := await self.store.orders.claim([order]):
            return await self.existing_order(order, taken[0])
        self._placing[order_id] = placing = asyncio.Event()
        try:
            existing = await self.store.orders.insert(order)
        finally:
            del self._placing[order_id]
            placing.set()
        if existing is not None:  # claimed before claims existed (OrderStore)
            return await self.existing_order(order, existing)
        return await self._reserve(order)

    async def existing_order(self, order: Document, claim: Document | None) -> Document:
        """Answer an order whose client_order_id is taken (claim: the holder's claim, if
        it could be read): the stored order if order repeats it, else
        DuplicateClientOrderId."""
        if claim is None or claim["fingerprint"] != order["fingerprint"]:
            raise DuplicateClientOrderId(
                details={"order_id": None if claim is None else claim["_id"]})
        return await self.settle_claim(claim)

    async def settle_claim(self, claim: Document) -> Document:
        """The order a claim placed, as stored.

        A claim with no order is a placing that stopped before its order was
        written (a crash, or a failed database call): it is completed if its
        account was charged, and otherwise rejected as "interrupted", so that a
        retry is answered and nothing is left half-done. Only a claim that
        another live process is still placing is answered as it stands.
        """
        if (placing := self._placing.get(claim["_id"])) is not None:
            await placing.wait()
        order = await self.store.orders.get(claim["user_id"], claim["_id"])
        if order is not None:
            return order
        step = claim.get("pending") or {}
        node = step.get("node")
        if node not in (None, self.node) and node in await self.alive():
            return claim
        if step.get("op", "").startswith("open:") and await self.store.accounts.has_op(
                claim["user_id"], step["op"]):
            return await self.complete_open(claim)
        return await self.reject_claimed(claim, "interrupted")

    def _open_step(self, order: Document, price: Decimal) -> Document:
        side, quantity = Side(order["side"]), from_units(order["quantity"])
        margin = self.rules.margin(side, price, quantity)
        fee = self.rules.commission(price, quantity)
        return {"op": f"open:{order['_id']}", "price": to_units(price),
                "margin": to_units(margin), "fee": to_units(fee), "node": self.node}

    def _reserve_step(self, order: Document, request: OrderRequest) -> Document:
        price = request.trigger_price
        if price is None:  # validate_order refuses this; kept for the type checker
            raise InvalidInput("A resting order needs a price.")
        amount = (self.rules.margin(request.side, price, request.quantity)
                  + self.rules.commission(price, request.quantity))
        return {"op": f"reserve:{order['_id']}", "amount": to_units(amount), "node": self.node}

    @staticmethod
    def open_changes(step: Document) -> dict[str, int]:
        """What an open step takes from its account (an $inc)."""
        cost = step["margin"] + step["fee"]
        return {"available": -cost, "margin_used": step["margin"], "cash": -step["fee"],
                "fees": step["fee"]}

    async def refuse_open(self, order: Document) -> None:
        """Reject a claimed market order its account cannot pay for, and raise
        InsufficientFunds."""
        step = order["pending"]
        cost = step["margin"] + step["fee"]
        await self.reject_claimed(order, "insufficient_funds")
        account = await self.account(order["user_id"])
        raise InsufficientFunds(
            f"This order needs {show(from_units(cost))} {self.currency} available.",
            details={"order_id": order["_id"], "needed": show(from_units(cost)),
                     "available": show(from_units(account["available"]))})

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

    async def _open_trade(self, order: Document, now: datetime) -> Document:
        """Store the trade an order's open (or fill) step opens, and its fee."""
        step = order["pending"]
        trade = self.new_trade(order, now)
        await self.store.trades.insert(trade)
        await self.store.ledger.record(f"{step['op']}:fee", order["user_id"], -step["fee"],
                                       "commission", order["_id"], now)
        return trade

    async def complete_open(self, claim: Document) -> Document:
        """Finish a claimed market order whose account was charged: store its trade, its
        fee and the order, filled; announce it if this call stored the order."""
        now = self.now()
        trade = await self._open_trade(claim, now)
        filled = {**claim, **self.fill_changes(claim, now), "pending": None}
        if await self.store.orders.insert_final([filled]):  # finished by another try
            return await self.store.orders.get(claim["user_id"], claim["_id"]) or filled
        self.changed("order", filled)
        self.changed("trade", trade)
        await self._announce(claim["user_id"], claim["pending"]["op"],
                             *self.opened_events(filled, trade))
        return filled

    async def reject_claimed(self, claim: Document, reason: str) -> Document:
        """Store a claimed order that never reached its account as rejected; announce it
        if this call stored it."""
        rejected = {**claim, "status": "rejected", "reject_reason": reason, "pending": None}
        if await self.store.orders.insert_final([rejected]):
            return await self.store.orders.get(claim["user_id"], claim["_id"]) or rejected
        await self.events.publish(claim["user_id"],
                                  ("order_update", {"order": order_view(rejected)}))
        return rejected

    async def _finish_open(self, order: Document) -> Document:
        step, user_id, now = order["pending"], order["user_id"], self.now()
        trade = await self._open_trade(order, now)
        filled = await self.store.orders.update(
            order["_id"], {"pending.op": step["op"]},
            {**self.fill_changes(order, now), "pending": None})
        result = filled or await self.store.orders.get(user_id, order["_id"]) or order
        self.changed("order", result)
        self.changed("trade", trade)
        await self._announce(user_id, step["op"], *self.opened_events(result, trade))
        return result

    async def _reserve(self, order: Document) -> Document:
        step = order["pending"]
        applied = await self.store.accounts.apply(
            order["user_id"], step["op"], {"available": -step["amount"],
                                           "reserved": step["amount"]},
            self.now(), need_available=step["amount"])
        if not applied:
            await self._reject(order, "insufficient_funds")
            raise InsufficientFunds(details={"order_id": order["_id"],
                                             "needed": show(from_units(step["amount"]))})
        return await self._finish_reserve(order)

    async def _finish_reserve(self, order: Document) -> Document:
        step = order["pending"]
        rested = await self.store.orders.update(
            order["_id"], {"pending.op": step["op"]},
            {"status": "open", "reserved": step["amount"], "pending": None})
        result = rested or await self.store.orders.get(order["user_id"], order["_id"]) or order
        self.changed("order", result)
        await self._announce(order["user_id"], step["op"],
                             ("order_update", {"order": order_view(result)}))
        return result

    async def _reject(self, order: Document, reason: str) -> None:
        rejected = await self.store.orders.update(
            order["_id"], {"status": "new"},
            {"status": "rejected", "reject_reason": reason, "pending": None})
        if rejected is not None:
            await self.events.publish(order["user_id"],
                                      ("order_update", {"order": order_view(rejected)}))

    async def cancel_order(self, user_id: str, order_id: str,
                           status: str = "canceled") -> Document:
        """End a resting order (cancelled, or expired) and release its reservation, once."""
        order = await self.store.orders.get(user_id, order_id)
        if order is None:
            raise NotFound("No such order.")
        op = f"release:{order_id}"
        ended = await self.store.orders.update(
            order_id, {"user_id": user_id, "status": "open", "pending": None},
            {"status": status, "canceled_at": self.now(),
             "pending": {"op": op, "amount": order["reserved"], "node": self.node}})
        if ended is None:
            raise OrderNotOpen(details={"status": order["status"]})
        return await self._release(ended)

    async def expire_day_orders(self) -> int:
        """Expire resting day orders whose day (UTC) has ended; return how many."""
        expired = 0
        for order in await self.store.orders.expiring(self.now()):
            with contextlib.suppress(OrderNotOpen, NotFound):
                await self.cancel_order(order["user_id"], order["_id"], status="expired")
                expired += 1
        return expired

    async def _release(self, order: Document) -> Document:
        step = order["pending"]
        await self.store.accounts.apply(order["user_id"], step["op"],
                                        {"reserved": -step["amount"],
                                         "available": step["amount"]}, self.now())
        done = await self.store.orders.update(order["_id"], {"pending.op": step["op"]},
                                              {"pending": None, "reserved": 0})
        result = done or order
        self.changed("order", result)
        await self._announce(order["user_id"], step["op"],
                             ("order_update", {"order": order_view(result)}))
        return result

    # -- trades --------------------------------------------------------------

    async def modify_trade(self, user_id: str, trade_id: str,
                           changes: dict[str, Decimal | None]) -> Document:
        """Set or clear a trade's stop_loss, target_price and trailing stop."""
        trade = await self._trade(user_id, trade_id)
        side = Side(trade["side"])
        trailing = {k: changes.pop(k) for k in ("trailing_amount", "trailing_percent")
                    if k in changes}
        if trailing:
            amount, percent = trailing.get("trailing_amount"), trailing.get("trailing_percent")
            check_trailing(amount, percent)
        levels: dict[str, Any] = {"stop_loss": trade["stop_loss"],
                                  "target_price": trade["target_price"]}
        levels.update({k: _units(v) for k, v in changes.items()})
        quote = self.hub.last.get(trade["symbol"])
        reference = quote.price if quote is not None else from_units(trade["entry_price"])
        check_exit_levels(side, reference, *(None if levels[k] is None else from_units(levels[k])
                                            for k in ("stop_loss", "target_price")))
        if trailing:  # a new trailing stop starts from the current price
            levels.update({"trailing_amount": _units(amount),
                           "trailing_percent": None if percent is None else str(percent),
                           "trail_best": to_units(reference)})
        modified = await self.store.trades.modify(user_id, trade_id, levels, self.now())
        if modified is None:
            raise TradeNotOpen()
        self.changed("trade", modified)
        await self.events.publish(user_id, ("trade_update", {
            "event": "modified", "reason": None, "trade": trade_view(modified, self.prices())}))
        return modified

    async def _trade(self, user_id: str, trade_id: str) -> Document:
        trade = await self.store.trades.get(user_id, trade_id)
        if trade is None:
            raise NotFound("No such trade.")
        if trade["status"] != "open":
            raise TradeNotOpen()
        return trade

    async def exit_trade(self, user_id: str, trade_id: str, quantity: Decimal | None = None,
                         reason: CloseReason = CloseReason.MANUAL,
                         price: Decimal | None = None) -> Document:
        """Close all or part of a trade at price (default: the market), exactly once."""
        trade = await self._trade(user_id, trade_id)
        side, held = Side(trade["side"]), trade["quantity"]
        if quantity is not None:
            instrument = self.hub.universe.instruments[trade["symbol"]]
            check_quantity(quantity, instrument.quantity_decimals)
        units = held if quantity is None else to_units(quantity)
        if units > held:
            raise InvalidQuantity(f"The trade holds {show(from_units(held))}.", field="quantity")
        market = price if price is not None else self.fresh_price(trade["symbol"])
        exit_price = self.rules.fill_price(side, market, opening=False)
        amount = from_units(units)
        pnl = realized_pnl(side, from_units(trade["entry_price"]), exit_price, amount)
        margin = trade["margin"] if units == held else trade["margin"] * units // held
        # A fresh id per exit: two exits that read the trade at the same time
        # must never share an op (their ledger entries are keyed by it).
        step = {"op": f"exit:{trade_id}:{new_id()}", "quantity": units,
                "price": to_units(exit_price), "pnl": to_units(pnl),
                "fee": to_units(self.rules.commission(exit_price, amount)), "margin": margin,
                "reason": reason.value, "at": self.now(), "closes": units == held,
                "node": self.node}
        claimed = await self.store.trades.claim(trade_id, user_id, units, step)
        if claimed is None:
            raise TradeNotOpen("The trade is closed or another exit is under way.")
        return await self._finish_exit(claimed)

    async def _finish_exit(self, trade: Document) -> Document:
        step, user_id, now = trade["pending"], trade["user_id"], self.now()
        cash = step["pnl"] - step["fee"]
        await self.store.accounts.apply(user_id, step["op"], {
            "cash": cash, "available": cash + step["margin"], "margin_used": -step["margin"],
            "realized_pnl": step["pnl"], "fees": step["fee"]}, now)
        await self.store.ledger.record(f"{step['op']}:pnl", user_id, step["pnl"], "realized_pnl",
                                       trade["_id"], now)
        await self.store.ledger.record(f"{step['op']}:fee", user_id, -step["fee"], "commission",
                                       trade["_id"], now)
        closing = {"status": "closed", "closed_at": step["at"], "close_price": step["price"],
                   "close_reason": step["reason"]} if step["closes"] else {}
        exit_record = {k: step[k] for k in ("quantity", "price", "pnl", "reason", "at")}
        settled = (await self.store.trades.settle(
            trade["_id"], step["op"], closing,
            {"quantity": -step["quantity"], "margin": -step["margin"],
             "realized_pnl": step["pnl"], "fees": step["fee"]}, exit_record)
            or await self.store.trades.get(user_id, trade["_id"]) or trade)
        self.changed("trade", settled)
        await self._announce(user_id, step["op"], ("trade_update", {
            "event": "closed" if step["closes"] else "reduced", "reason": step["reason"],
            "trade": trade_view(settled, self.prices())}))
        return settled

    async def exit_all(self, user_id: str) -> list[Document]:
        """Close every open trade at the market; trades already closing are skipped."""
        closed = []
        for trade in await self.store.trades.find(user_id, status="open", limit=10_000):
            try:
                closed.append(await self.exit_trade(user_id, trade["_id"],
                                                    reason=CloseReason.EXIT_ALL))
            except (TradeNotOpen, StalePrice) as error:
                log.info("exit-all skipped trade %s: %s", trade["_id"], error.code)
        return closed

    async def fill_resting_order(self, order: Document, price: Decimal) -> Document | None:
        """Fill an open limit or stop order at a tick's price (plus slippage), once.

        A gap through the level fills at the tick's price, not the level. If the
        fill costs more than was reserved and the account cannot cover the
        difference, the order is rejected and its reservation released.
        """
        fill = self.rules.fill_price(Side(order["side"]), price)
        step = {**self._open_step(order, fill), "op": f"fill:{order['_id']}",
                "reserved": order["reserved"]}
        claimed = await self.store.orders.update(order["_id"], {"status": "open", "pending": None},
                                                 {"pending": step})
        if claimed is None:
            return None  # cancelled or filled meanwhile
        return await self._fill(claimed)

    async def _fill(self, order: Document) -> Document | None:
        step = order["pending"]
        cost = step["margin"] + step["fee"]
        applied = await self.store.accounts.apply(
            order["user_id"], step["op"],
            {"reserved": -step["reserved"], "margin_used": step["margin"], "cash": -step["fee"],
             "fees": step["fee"], "available": step["reserved"] - cost},
            self.now(), need_available=max(cost - step["reserved"], 0) or None)
        if not applied:
            rejected = await self.store.orders.update(
                order["_id"], {"pending.op": step["op"]},
                {"status": "rejected", "reject_reason": "insufficient_funds",
                 "pending": {"op": f"release:{order['_id']}", "amount": step["reserved"],
                             "node": self.node}})
            return None if rejected is None else await self._release(rejected)
        return await self._finish_open(order)
