"""Read-only reports over a user's account: wallet, positions, performance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.engine import TradingEngine
from services.views import positions_view, unrealized
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


async def performance(engine: TradingEngine, user_id: str) -> dict[str, Any]:
    account = await engine.account(user_id)
    prices = engine.prices()
    open_trades = await engine.store.trades.find(user_id, status=TradeStatus.OPEN, limit=10_000)
    closed = await engine.store.trades.find(user_id, status=TradeStatus.CLOSED, limit=100_000)
    active = sum((unrealized(t, prices) or Decimal(0) for t in open_trades), Decimal(0))
    realized = from_units(account["realized_pnl"])
    equity = from_units(account["cash"]) + active
    margin = from_units(account["margin_used"])
    wins = sum(1 for t in closed if t["realized_pnl"] > 0)
    return {
        "active_pnl": show(active), "realized_pnl": show(realized),
        "total_pnl": show(realized + active), "margin_used": show(margin),
        "margin_utilization_pct": show((margin / equity * 100).quantize(Decimal("0.01")))
        if equity > 0 else None,
        "available": show(from_units(account["available"])), "equity": show(equity),
        "open_trades": len(open_trades), "closed_trades": len(closed),
        "win_rate_pct": show((Decimal(wins) / len(closed) * 100).quantize(Decimal("0.01")))
        if closed else None,
    }
