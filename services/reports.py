"""Read-only reports over a user's account: wallet and positions (performance:
services/performance.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.engine import TradingEngine
from services.views import positions_view
from trading.money import from_units, show
from trading.trades import TradeStatus


async def positions(engine: TradingEngine, user_id: str) -> list[dict[str, Any]]:
    open_trades = await engine.store.trades.find(user_id, status=TradeStatus.OPEN, limit=10_000)
    return positions_view(open_trades, engine.prices())


async def wallet(engine: TradingEngine, user_id: str) -> dict[str, Any]:
    """Per-asset balances: cash (free and locked) and each symbol held, long or short."""
    account = await engine.account(user_id)
    locked = account["reserved"] + account["margin_used"]
    balances = [{"asset": account["currency"], "free": show(from_units(account["available"])),
                 "locked": show(from_units(locked)), "total": show(from_units(account["cash"]))}]
    held: dict[str, Decimal] = {}
    for trade in await engine.store.trades.find(user_id, status=TradeStatus.OPEN, limit=10_000):
        sign = 1 if trade["side"] == "buy" else -1
        held[trade["symbol"]] = held.get(trade["symbol"], Decimal(0)) + sign * from_units(
            trade["quantity"])
    for symbol, quantity in sorted(held.items()):
        balances.append({"asset": symbol, "free": show(quantity), "locked": "0",
                         "total": show(quantity)})
    return {"balances": balances}
