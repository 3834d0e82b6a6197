"""Resetting an account: everything closed, cash back to the initial amount (one unit of
work once nothing is open)."""

from __future__ import annotations

import contextlib
from typing import Any

from services.engine import TradingEngine
from services.events import Event
from services.views import balances_view
from store.database import Document
from store.events import run_document
from store.ledger import ledger_entry
from store.unit_of_work import Writes
from trading.errors import AccountGone, Conflict, OrderNotOpen, TradeNotOpen
from trading.money import from_units
from trading.orders import OrderStatus
from trading.trades import CloseReason, TradeStatus


async def reset_account(engine: TradingEngine, user_id: str) -> dict[str, Any]:
    """Cancel open orders, close open trades, and put cash back to the initial amount."""
    store, hub = engine.store, engine.hub
    for order in await store.orders.find(user_id, status=OrderStatus.OPEN, limit=10_000):
        with contextlib.suppress(OrderNotOpen):
            await engine.resting.cancel(user_id, order["_id"])
    for trade in await store.trades.find(user_id, status=TradeStatus.OPEN, limit=10_000):
        quote = hub.last.get(trade["symbol"])
        # A reset must not wait for a market: with no fresh price, close flat.
        price = (quote.price if quote is not None and not hub.is_stale(trade["symbol"])
                 else from_units(trade["entry_price"]))
        with contextlib.suppress(TradeNotOpen):
            await engine.trades.exit(user_id, trade["_id"], reason=CloseReason.RESET, price=price)
    await engine.ensure_account(user_id)
    account, events = await engine.store.unit_of_work.run(
        lambda writes: _reset(writes, engine, user_id))
    await engine.events.stored(user_id, account["event_seq"], events)
    return await engine.account_view(user_id)


async def _reset(writes: Writes, engine: TradingEngine,
                 user_id: str) -> tuple[Document, list[Event]]:
    """Cash back to the initial amount, its difference in the ledger, and the event: one
    unit of work, on the account as the transaction reads it (nothing open)."""
    now = engine.now()
    account = await writes.get("accounts", user_id)
    if account is None:
        raise AccountGone()
    if account["reserved"] or account["margin_used"]:
        raise Conflict("An order or trade was opened during the reset; try again.")
    reset = await writes.update(
        "accounts", user_id, {"reserved": 0, "margin_used": 0},
        {"$set": {"cash": account["initial"], "available": account["initial"],
                  "realized_pnl": 0, "fees": 0, "updated_at": now},
         "$inc": {"resets": 1, "event_seq": 1}})
    if reset is None:
        raise Conflict("An order or trade was opened during the reset; try again.")
    if amount := account["initial"] - account["cash"]:
        op = f"reset:{user_id}:{reset['resets']}"
        writes.insert("ledger", ledger_entry(op, user_id, amount, "reset", op, now))
    events: list[Event] = [("account_update", {"account": balances_view(reset)})]
    writes.insert("events", run_document(user_id, events, reset["event_seq"], now))
    return reset, events
