"""Open trades: their exit levels changed, and closed (all or part) exactly once.

An exit is first claimed on the trade, a conditional update on its open
status with no other exit under way (its ``pending`` step, a fresh op per
exit), so the user, exit-all, a reset and the monitor cannot close it
twice. The account then moves once for the op, the ledger takes the
realized PnL and the fee, and the trade is settled.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from server.auth import new_id
from server.views import trade_view
from store.database import Document
from trading.errors import InvalidQuantity, NotFound, StalePrice, TradeNotOpen
from trading.money import from_units, show, to_units, units_or_none
from trading.orders import Side, check_exit_levels, check_quantity, check_trailing
from trading.trades import CloseReason, realized_pnl

if TYPE_CHECKING:
    from server.engine import TradingEngine

log = logging.getLogger(__name__)


class Trades:
    """The open trades of a TradingEngine (module docstring)."""

    def __init__(self, engine: TradingEngine) -> None:
        self.engine = engine

    async def _open(self, user_id: str, trade_id: str) -> Document:
        trade = await self.engine.store.trades.get(user_id, trade_id)
        if trade is None:
            raise NotFound("No such trade.")
        if trade["status"] != "open":
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
        engine.changed("trade", modified)
        await engine.events.publish(user_id, ("trade_update", {
            "event": "modified", "reason": None, "trade": trade_view(modified, engine.prices())}))
        return modified

    async def exit(self, user_id: str, trade_id: str, quantity: Decimal | None = None,
                   reason: CloseReason = CloseReason.MANUAL,
                   price: Decimal | None = None) -> Document:
        """Close all or part of a trade at price (default: the market), exactly once."""
        engine = self.engine
        trade = await self._open(user_id, trade_id)
        side, held = Side(trade["side"]), trade["quantity"]
        if quantity is not None:
            instrument = engine.hub.universe.instruments[trade["symbol"]]
            check_quantity(quantity, instrument.quantity_decimals)
        units = held if quantity is None else to_units(quantity)
        if units > held:
            raise InvalidQuantity(f"The trade holds {show(from_units(held))}.", field="quantity")
        market = price if price is not None else engine.fresh_price(trade["symbol"])
        exit_price = engine.rules.fill_price(side, market, opening=False)
        amount = from_units(units)
        pnl = realized_pnl(side, from_units(trade["entry_price"]), exit_price, amount)
        margin = trade["margin"] if units == held else trade["margin"] * units // held
        # A fresh id per exit: two exits that read the trade at the same time
        # must never share an op (their ledger entries are keyed by it).
        step = {"op": f"exit:{trade_id}:{new_id()}", "quantity": units,
                "price": to_units(exit_price), "pnl": to_units(pnl),
                "fee": to_units(engine.rules.commission(exit_price, amount)), "margin": margin,
                "reason": reason.value, "at": engine.now(), "closes": units == held,
                "node": engine.node}
        claimed = await engine.store.trades.claim(trade_id, user_id, units, step)
        if claimed is None:
            raise TradeNotOpen("The trade is closed or another exit is under way.")
        return await self.finish_exit(claimed)

    async def finish_exit(self, trade: Document) -> Document:
        """Apply a claimed exit (its pending step) to the account, ledger and trade."""
        engine = self.engine
        store, step, user_id, now = engine.store, trade["pending"], trade["user_id"], engine.now()
        cash = step["pnl"] - step["fee"]
        await store.accounts.apply(user_id, step["op"], {
            "cash": cash, "available": cash + step["margin"], "margin_used": -step["margin"],
            "realized_pnl": step["pnl"], "fees": step["fee"]}, now)
        await store.ledger.record(f"{step['op']}:pnl", user_id, step["pnl"], "realized_pnl",
                                  trade["_id"], now)
        await store.ledger.record(f"{step['op']}:fee", user_id, -step["fee"], "commission",
                                  trade["_id"], now)
        closing = {"status": "closed", "closed_at": step["at"], "close_price": step["price"],
                   "close_reason": step["reason"]} if step["closes"] else {}
        exit_record = {k: step[k] for k in ("quantity", "price", "pnl", "reason", "at")}
        settled = (await store.trades.settle(
            trade["_id"], step["op"], closing,
            {"quantity": -step["quantity"], "margin": -step["margin"],
             "realized_pnl": step["pnl"], "fees": step["fee"]}, exit_record)
            or await store.trades.get(user_id, trade["_id"]) or trade)
        engine.changed("trade", settled)
        await engine.announce(user_id, step["op"], ("trade_update", {
            "event": "closed" if step["closes"] else "reduced", "reason": step["reason"],
            "trade": trade_view(settled, engine.prices())}))
        return settled

    async def exit_all(self, user_id: str) -> list[Document]:
        """Close every open trade at the market; trades already closing are skipped."""
        closed = []
        for trade in await self.engine.store.trades.find(user_id, status="open", limit=10_000):
            try:
                closed.append(await self.exit(user_id, trade["_id"],
                                              reason=CloseReason.EXIT_ALL))
            except (TradeNotOpen, StalePrice) as error:
                log.info("exit-all skipped trade %s: %s", trade["_id"], error.code)
        return closed
