"""Resetting an account: everything closed, cash back to the initial amount."""

from __future__ import annotations

import contextlib
from typing import Any

from server.engine import TradingEngine
from store.database import Document
from trading.errors import Conflict, OrderNotOpen, TradeNotOpen
from trading.money import from_units
from trading.trades import CloseReason


async def reset_account(engine: TradingEngine, user_id: str, attempts: int = 5) -> dict[str, Any]:
    """Cancel open orders, close open trades, and put cash back to the initial amount."""
    store, hub = engine.store, engine.hub
    for order in await store.orders.find(user_id, status="open", limit=10_000):
        with contextlib.suppress(OrderNotOpen):
            await engine.resting.cancel(user_id, order["_id"])
    for trade in await store.trades.find(user_id, status="open", limit=10_000):
        quote = hub.last.get(trade["symbol"])
        # A reset must not wait for a market: with no fresh price, close flat.
        price = (quote.price if quote is not None and not hub.is_stale(trade["symbol"])
                 else from_units(trade["entry_price"]))
        with contextlib.suppress(TradeNotOpen):
            await engine.trades.exit(user_id, trade["_id"], reason=CloseReason.RESET, price=price)
    for _ in range(attempts):
        account = await engine.account(user_id)
        reset = await store.accounts.begin_reset(account, engine.now())
        if reset is not None:
            await finish_reset(engine, reset)
            return await engine.account_view(user_id)
    raise Conflict("The account kept changing during the reset; try again.")


async def finish_reset(engine: TradingEngine, account: Document) -> None:
    """Record the reset in the ledger and announce it (also run by recovery)."""
    step = account["pending_reset"]
    await engine.store.ledger.record(step["op"], account["_id"], step["amount"], "reset",
                                     step["op"], engine.now())
    await engine.store.accounts.end_reset(account["_id"], step["op"])
    await engine.announce(account["_id"], None)
