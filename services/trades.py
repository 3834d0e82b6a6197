"""Open trades: their exit levels changed, and closed (all or part) exactly once.

An exit is one unit of work (store/unit_of_work.py): the trade as the
transaction reads it is reduced or closed (guarded on that state), the
account moves, the ledger takes the realized PnL and the fee, and the events
are stored, all committed together. Two exits of one trade at once (the user,
exit-all, a reset, the monitor) conflict in the database and the later one
starts again on the trade as the first left it: a closed trade is not closed
twice.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from services.auth import new_id
from services.context import TradingContext, applied, converted, position_event
from services.events import Event
from services.known import Known
from services.views import Holding, balances_view, trade_view
from store.database import Document
from store.events import run_document
from store.ledger import ledger_entry
from store.trading import TradeStore
from store.unit_of_work import Stale, Writes
from trading.errors import (
    AccountGone,
    FxUnavailable,
    InvalidQuantity,
    NotFound,
    StalePrice,
    TradeNotOpen,
)
from trading.events import TradeClosed
from trading.fees import Liquidity
from trading.fx import Conversion
from trading.money import from_units, show, to_units, units_or_none
from trading.orders import Side, check_exit_levels, check_quantity, check_trailing
from trading.positions import exit_lot, exits_account_changes
from trading.trades import CloseReason, TradeStatus

log = logging.getLogger(__name__)


class Trades:
    """The open trades of a TradingEngine (module docstring)."""

    def __init__(self, engine: TradingContext) -> None:
        self.engine = engine

    async def _open(self, user_id: str, trade_id: str) -> Document:
        trade = await self.engine.store.trades.get(user_id, trade_id)
        if trade is None:
            raise NotFound("No such trade.")
        if trade["status"] != TradeStatus.OPEN:
            raise TradeNotOpen()
        return trade

    async def modify(self, user_id: str, trade_id: str,
                     changes: dict[str, Decimal | None]) -> Document:
        """Set or clear a trade's stop_loss, target_price and trailing stop."""
        engine = self.engine
        trade = await self._open(user_id, trade_id)
        side = Side(trade["side"])
        trailing = {k: changes.pop(k) for k in ("trailing_amount", "trailing_percent")
                    if k in changes}
        if trailing:
            amount, percent = trailing.get("trailing_amount"), trailing.get("trailing_percent")
            check_trailing(amount, percent)
        levels: dict[str, Any] = {"stop_loss": trade["stop_loss"],
                                  "target_price": trade["target_price"]}
        levels.update({k: units_or_none(v) for k, v in changes.items()})
        quote = engine.hub.last.get(trade["symbol"])
        reference = quote.price if quote is not None else from_units(trade["entry_price"])
        check_exit_levels(side, reference, *(None if levels[k] is None else from_units(levels[k])
                                            for k in ("stop_loss", "target_price")))
        if trailing:  # a new trailing stop starts from the current price
            levels.update({"trailing_amount": units_or_none(amount),
                           "trailing_percent": None if percent is None else show(percent),
                           "trail_best": to_units(reference)})
        modified = await engine.store.trades.modify(user_id, trade_id, levels, engine.now())
        if modified is None:
            raise TradeNotOpen()
        await engine.changed("trade", modified)
        await engine.events.publish(user_id, ("trade_update", {
            "event": "modified", "reason": None, "trade": trade_view(modified, engine.prices())}))
        return modified

    async def exit(self, user_id: str, trade_id: str, quantity: Decimal | None = None,
                   reason: CloseReason = CloseReason.MANUAL,
                   price: Decimal | None = None) -> Document:
        """Close all or part of a trade at price (default: the market), exactly once; its
        PnL converted at the rate now (a reset, which must not wait, at the latest known)."""
        engine = self.engine
        trade = await self._open(user_id, trade_id)
        if quantity is not None:
            instrument = engine.hub.universe.instruments[trade["symbol"]]
            check_quantity(quantity, instrument.quantity_decimals)
        market = price if price is not None else engine.fresh_price(trade["symbol"])
        fx = engine.exit_conversion(trade, strict=reason != CloseReason.RESET)
        exit_price = engine.rules.fill_price(Side(trade["side"]), market,
                                             engine.asset_class(trade["symbol"]), opening=False)
        known = engine.known.get(user_id)

        async def attempt(known: Known | None) -> tuple[Document, Document, list[Event]]:
            settled, account, events, position, as_known = await engine.store.unit_of_work.run(
                lambda writes: self._exit(writes, user_id, trade_id, quantity, exit_price,
                                          reason, fx, known))
            engine.known.learnt(user_id, account, {settled["symbol"]: position},
                                read=not as_known, was=known)
            return settled, account, events

        try:
            settled, account, events = await attempt(known)
        except Stale:  # the account was not as known: the long way
            engine.known.forget(user_id)
            settled, account, events = await attempt(None)
        await engine.changed("trade", settled)
        await engine.events.stored(user_id, account["event_seq"], events)
        if settled["status"] == TradeStatus.CLOSED:
            await engine.bus.publish(TradeClosed(user_id, trade_view(settled, {}), reason))
        return settled

    async def _exit(self, writes: Writes, user_id: str, trade_id: str,
                    quantity: Decimal | None, exit_price: Decimal, reason: CloseReason,
                    fx: Conversion, known: Known | None
                    ) -> tuple[Document, Document, list[Event], list[Holding], bool]:
        """The exit, as one unit of work: the trade as read in it, reduced or closed;
        the account; the realized PnL and the fee in the ledger; the events. Returns
        the trade, the account and the events, the position after the exit, and
        whether the account was known.

        With the account known (services/known.py), the trade's and the account's
        updates are guarded (the trade as read, the account as known) and go with the
        inserts in one bulkWrite, and the position after is the known one less the
        exit: flush raises Stale if the account was not as known. Otherwise (or when
        the position after cannot be told so) they are read back as updated, and the
        position is summed by the database from the symbol's open lots, as the
        transaction sees them."""
        engine, now = self.engine, self.engine.now()
        trade = await writes.get("trades", trade_id, user_id=user_id)
        if trade is None:
            raise NotFound("No such trade.")
        if trade["status"] != TradeStatus.OPEN:
            raise TradeNotOpen()
        held = trade["quantity"]
        units = held if quantity is None else to_units(quantity)
        if units > held:
            raise InvalidQuantity(f"The trade holds {show(from_units(held))}.", field="quantity")
        closing = Side.SELL if trade["side"] == Side.BUY else Side.BUY
        fee = to_units(engine.fee(trade["symbol"], closing, exit_price, from_units(units),
                                  Liquidity.TAKER))  # an exit takes liquidity
        lot_exit = exit_lot(trade, units, exit_price, reason, fee, now, fx)
        guard = {"quantity": held, "status": TradeStatus.OPEN}
        changes = {"$inc": {**exits_account_changes([lot_exit]), "event_seq": 3},
                   "$set": {"updated_at": now}}
        after = None if known is None else known.less(trade, units)
        as_known = known is not None and after is not None
        if known is not None and after is not None:
            writes.update_later("trades", trade_id, guard, lot_exit.update)
            writes.update_later("accounts", user_id, known.guard(), changes)
            settled, account = applied(trade, lot_exit.update), applied(known.account, changes)
        else:
            updated = await writes.update("trades", trade_id, guard, lot_exit.update)
            if updated is None:  # the transaction read it so: cannot happen, but never twice
                raise TradeNotOpen()
            moved = await writes.update("accounts", user_id, {}, changes)
            if moved is None:
                raise AccountGone()
            settled, account = updated, moved
            after = Holding.summed(trade["symbol"], await TradeStore.holdings(
                writes, user_id, trade["symbol"]))
        entry = f"exit:{trade_id}:{new_id()}"
        if lot_exit.pnl:
            writes.insert("ledger", ledger_entry(f"{entry}:pnl", user_id, lot_exit.pnl,
                                                 "realized_pnl", trade_id, now,
                                                 converted(fx, lot_exit.pnl_quote)))
        if lot_exit.fee:
            writes.insert("ledger", ledger_entry(f"{entry}:fee", user_id, -lot_exit.fee,
                                                 "commission", trade_id, now,
                                                 converted(fx, -lot_exit.fee_quote)))
        prices = engine.prices()
        events: list[Event] = [
            ("trade_update", {"event": "closed" if lot_exit.closes else "reduced",
                              "reason": reason.value, "trade": trade_view(settled, prices)}),
            position_event(trade["symbol"], after, prices, reason.value, [lot_exit]),
            ("account_update", {"account": balances_view(account)})]
        writes.insert("events", run_document(user_id, events, account["event_seq"] - 2, now))
        return settled, account, events, after, as_known

    async def exit_all(self, user_id: str) -> list[Document]:
        """Close every open trade at the market; trades already closing are skipped."""
        closed = []
        for trade in await self.engine.store.trades.find(user_id, status=TradeStatus.OPEN,
                                                         limit=10_000):
            try:
                closed.append(await self.exit(user_id, trade["_id"],
                                              reason=CloseReason.EXIT_ALL))
            except (TradeNotOpen, StalePrice, FxUnavailable) as error:
                log.info("exit-all skipped trade %s: %s", trade["_id"], error.code)
        return closed
