"""Market orders: each filled in one transaction (store/unit_of_work.py).

One unit of work takes the order's cost from its account (a guarded $inc that
also takes the numbers of its events) and writes, in one round trip, its
trade, its fee's ledger entry, the order, filled (which makes its
client_order_id taken), and its events. They are committed together or not
at all, so a crash anywhere leaves either the whole fill or nothing, and the
answer comes only after a durable commit. An account that cannot pay gets
the order stored as rejected (``insufficient_funds``) with its event, in the
same way. A client_order_id already taken is answered by the order that
holds it (TradingEngine.existing_order) or refused if it differs.

An account's market orders take turns in this process: at once, their
transactions would all write the account, and all but one would conflict
and start again (the database decides between processes the same way).

Taking turns, this process knows the account as its last fill (or exit) left it
(services/known.py). The next fill then needs no read: its account update, guarded by every balance
as known, goes in the bulkWrite with the inserts, and the fill is two round
trips (the bulkWrite and the commit) instead of three. If anything else
changed the account meanwhile (an exit, a resting fill, another process),
the guard does not match, that attempt is abandoned, and the fill is made
the long way, which reads the account.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from services.brackets import Legs, merged
from services.context import TradingContext, opened_fee, position_event
from services.events import Event
from services.known import Known
from services.views import Holding, balances_view, order_view, trade_view
from store.database import Document
from store.events import run_document
from store.ledger import ledger_entry
from store.unit_of_work import DuplicateKey, Stale, Writes
from trading.errors import AccountGone, InsufficientFunds, LimitExceeded, NotFound
from trading.fees import Liquidity
from trading.fx import Conversion
from trading.money import from_units, show
from trading.orders import OrderStatus, Side, ended_as
from trading.trades import CloseReason


@dataclass(frozen=True)
class _Outcome:
    order: Document  # as stored: filled, or rejected
    trade: Document | None  # the trade it opened, if filled
    account: Document  # after the fill
    events: list[Event]
    closed: list[Document] = field(default_factory=list)  # lots it closed or reduced
    # The position in the order's symbol after it ([]: flat), when the unit of work
    # read it; the fills that follow need not read it again.
    holdings: dict[str, list[Holding]] = field(default_factory=dict)
    legs: list[Document] = field(default_factory=list)  # its exit legs, as stored
    read: bool = False  # made the long way (what it learnt is all this process knows)


class _Turns:
    """A lock per key, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def of(self, key: str) -> AsyncIterator[None]:
        lock, waiting = self._held.get(key, (asyncio.Lock(), 0))
        self._held[key] = (lock, waiting + 1)
        try:
            async with lock:
                yield
        finally:
            lock, waiting = self._held[key]
            if waiting == 1:
                del self._held[key]
            else:
                self._held[key] = (lock, waiting - 1)


class MarketFills:
    def __init__(self, engine: TradingContext) -> None:
        self.engine = engine
        self.legs = Legs(engine)
        self._turns = _Turns()  # one account's orders, one at a time (module docstring)

    async def fill(self, order: Document, legs: list[Document] | None = None,
                   max_resting: int = 0) -> Document:
        """Charge, store and fill a new market order (its open step set); return it
        filled. With legs (a bracket's or an oto's, held), they rest in the same unit
        of work, unless they would take the user's resting orders past max_resting (0:
        no cap; LimitExceeded, nothing stored). Raises DuplicateClientOrderId or
        InsufficientFunds; a retry of an order already stored returns that order."""
        engine, legs = self.engine, legs or []
        try:
            async with self._turns.of(order["user_id"]):
                known = engine.known.get(order["user_id"])
                outcome = (None if legs or order.get("reduce_only") or known is None
                           else await self._fill_known(order, known)
                           ) or await self._fill_long_way(order, legs, max_resting)
                engine.known.learnt(order["user_id"], outcome.account, outcome.holdings,
                                    read=outcome.read, was=known)
        except DuplicateKey as taken:
            if taken.collection != "orders":
                raise
            holder = await engine.store.orders.holder(order["user_id"], order["client_order_id"])
            return engine.existing_order(order, holder)
        except LimitExceeded:  # a retry of an order placed before the cap filled is answered
            holder = await engine.store.orders.holder(order["user_id"], order["client_order_id"])
            if holder is None:
                raise
            return engine.existing_order(order, holder)
        user_id = order["user_id"]
        await engine.changed("order", outcome.order)
        for leg in outcome.legs:
            await engine.changed("order", leg)
        if outcome.trade is not None:
            await engine.changed("trade", outcome.trade)
        for lot in outcome.closed:
            await engine.changed("trade", lot)
        await engine.events.stored(user_id, outcome.account["event_seq"], outcome.events)
        if outcome.order["status"] == OrderStatus.REJECTED:
            cost = order["pending"]["margin"] + order["pending"]["fee"]
            raise InsufficientFunds(
                f"This order needs {show(from_units(cost))} {engine.currency} available.",
                details={"order_id": order["_id"], "needed": show(from_units(cost)),
                         "available": show(from_units(outcome.account["available"]))})
        return outcome.order

    async def _fill_long_way(self, order: Document, legs: list[Document],
                             max_resting: int = 0) -> _Outcome:
        """Fill reading the account and the position."""
        return await self.engine.store.unit_of_work.run(
            lambda writes: self._fill(writes, order, legs, max_resting))

    async def _fill_known(self, order: Document, known: Known) -> _Outcome | None:
        """Fill in two round trips if the account can pay as known (services/known.py);
        None if the position is not known, or the account was known wrong."""
        step = order["pending"]
        if (order["symbol"] not in known.holdings
                or ((held := known.holdings[order["symbol"]]) is not None
                    and held.side != order["side"])
                or (order["side"] == Side.SELL and not self.engine.shortable(order["symbol"]))
                or known.account["available"] < step["margin"] + step["fee"]):
            return None  # unknown, or it would close lots: the long way reads them
        try:
            return await self.engine.store.unit_of_work.run(
                lambda writes: self._fill_as_known(writes, order, known, held), reads=False)
        except Stale:
            self.engine.known.forget(order["user_id"])
            return None

    async def _fill_as_known(self, writes: Writes, order: Document, known: Known,
                             held: Holding | None) -> _Outcome:
        now = self.engine.now()
        changes = self.engine.open_changes(order["pending"])
        increments = {**changes, "event_seq": 4}
        writes.update_later("accounts", order["user_id"], known.guard(),
                            {"$inc": increments, "$set": {"updated_at": now}})
        account = {**known.account, **{name: known.account[name] + amount
                                       for name, amount in increments.items()},
                   "updated_at": now}
        return self._filled(writes, order, account, held, now)

    async def _fill(self, writes: Writes, order: Document, legs: list[Document],
                    max_resting: int = 0) -> _Outcome:
        engine, user_id = self.engine, order["user_id"]
        now = engine.now()
        if legs and max_resting > 0 and (
                await self.legs.resting(writes, user_id) + len(legs) > max_resting):
            raise LimitExceeded(f"At most {max_resting} resting orders, this order's exit "
                                "legs included; cancel some first.", limit=max_resting)
        lots = None  # the lots the order closes, when read here
        if order.get("reduce_only"):  # a close: what the position holds now, at most
            lots = await engine.closed_by(writes, order)
            held = sum(int(lot["quantity"]) for lot in lots)
            if not held:
                raise NotFound(f"No open position in {order['symbol']}.")
            if held < int(order["quantity"]):  # its fee and margin are what it fills
                step = order["pending"]
                order = {**order, "quantity": held}
                order["pending"] = engine.open_step(
                    order, from_units(step["price"]), Liquidity(step["liquidity"]),
                    Conversion.recorded(step)) | {"op": step["op"]}
        netted = await engine.net_fill(writes, order, now, lots=lots)
        if netted is None:  # cannot pay: the order is stored, rejected (its legs with it)
            rejected = {**ended_as({**order, "pending": None}, OrderStatus.REJECTED),
                        "reject_reason": "insufficient_funds"}
            account = await writes.update("accounts", user_id, {},
                                          {"$inc": {"event_seq": 1 + len(legs)}})
            if account is None:
                raise AccountGone()
            ended = self.legs.placed(rejected, legs, OrderStatus.REJECTED, writes)
            events: list[Event] = [("order_update", {"order": order_view(rejected)}),
                                   *[("order_update", {"order": order_view(leg)})
                                     for leg in ended]]
            self._record(writes, rejected, account, events, now)
            return _Outcome(rejected, None, account, events, legs=ended, read=True)
        group = await self.legs.activate(writes, netted.order, netted.trade, now, new=legs)
        events, account = merged(netted.events, group, netted.account)
        self._record(writes, netted.order, account, events, now)
        return _Outcome(netted.order, netted.trade, account, events, netted.closed,
                        {order["symbol"]: netted.holdings}, group.orders, read=True)

    def _filled(self, writes: Writes, order: Document, account: Document,
                held: Holding | None, now: datetime) -> _Outcome:
        """The fill's writes, after its account update: the trade, the fee, the order,
        filled, and the events (held: the position it adds to)."""
        engine, user_id, step = self.engine, order["user_id"], order["pending"]
        filled = {**order, "pending": None, **engine.fill_changes(order, now)}
        trade = engine.new_trade(order, now)
        writes.insert("trades", trade)
        if step["fee"]:
            writes.insert("ledger", ledger_entry(f"{step['op']}:fee", user_id, -step["fee"],
                                                 "commission", order["_id"], now,
                                                 opened_fee(step)))
        after = Holding.of([trade]) if held is None else held.plus(trade)
        prices = engine.prices()
        events = [("order_update", {"order": order_view(filled)}),
                  position_event(order["symbol"], [after], prices, CloseReason.ORDER.value),
                  ("trade_update", {"event": "opened", "reason": None,
                                    "trade": trade_view(trade, prices)}),
                  ("account_update", {"account": balances_view(account)})]
        self._record(writes, filled, account, events, now)
        return _Outcome(filled, trade, account, events, holdings={order["symbol"]: [after]})

    @staticmethod
    def _record(writes: Writes, order: Document, account: Document, events: list[Event],
                now: datetime) -> None:
        """The order as it ends and the events the account numbered last."""
        writes.insert("orders", order)
        first = account["event_seq"] - len(events) + 1
        writes.insert("events", run_document(order["user_id"], events, first, now))
