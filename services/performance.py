"""How an account has done in one period (a reset starts the next): P&L in total and per
symbol, wins and losses, drawdown, Sharpe and exposure.

A trade belongs to the period it opened in (a reset closes every trade before the
next period starts). Wins and losses are closed trades whose realized P&L net of
their fees (opening and closing) is above or below zero. Drawdown and Sharpe come
from the equity snapshots (services/history.py), with the current period's equity
now as its last point: the largest fall from a running peak, in money and as a
share of that peak (each the largest of its kind); Sharpe from the returns of
each calendar day's last equity, risk-free rate 0, annualized with sqrt(365).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from services.engine import TradingEngine
from services.portfolio import Period, period_of
from services.views import unrealized
from store.database import Document
from store.history import SnapshotStore
from trading.money import from_units, round_money, show
from trading.orders import Side
from trading.portfolio import DAYS_PER_YEAR, Drawdown, daily_returns, floor_time, sharpe
from trading.trades import TradeStatus

CENT = Decimal("0.01")
DAY = timedelta(days=1)
ZERO = Decimal(0)


def _pct(part: Decimal, whole: Decimal) -> str | None:
    return show((part / whole * 100).quantize(CENT)) if whole > 0 else None


def _money(value: Decimal | None) -> str | None:
    return None if value is None else show(round_money(value))


class _Symbol:
    """One symbol's numbers in a period."""

    def __init__(self) -> None:
        self.realized = self.fees = self.unrealized = self.long = self.short = ZERO
        self.won = self.lost = ZERO
        self.open = self.closed = self.wins = self.losses = 0

    def add_results(self, found: Document) -> None:
        self.realized += from_units(found["realized"])
        self.fees += from_units(found["fees"])
        self.closed += int(found["closed"])
        self.wins += int(found["wins"])
        self.losses += int(found["losses"])
        self.won += from_units(found["won"])
        self.lost += from_units(found["lost"])

    def add_open(self, trade: Document, prices: dict[str, Decimal]) -> None:
        self.open += 1
        if not trade["exits"]:  # with exits, its results are counted already
            self.fees += from_units(trade["fees"])
        self.unrealized += unrealized(trade, prices) or ZERO
        price = prices.get(trade["symbol"])
        if price is not None:
            value = price * from_units(trade["quantity"])
            if trade["side"] == Side.BUY:
                self.long += value
            else:
                self.short += value

    def view(self, symbol: str) -> dict[str, Any]:
        return {"symbol": symbol, "realized_pnl": _money(self.realized),
                "unrealized_pnl": _money(self.unrealized), "fees": _money(self.fees),
                "net_pnl": _money(self.realized + self.unrealized - self.fees),
                "open_trades": self.open, "closed_trades": self.closed, "wins": self.wins,
                "losses": self.losses,
                "win_rate_pct": _pct(Decimal(self.wins), Decimal(self.closed)),
                "market_value": _money(self.long - self.short)}


async def performance(engine: TradingEngine, store: SnapshotStore, account: Document,
                      period_id: int | None) -> dict[str, Any]:
    """The account's performance in a period (None: the current one)."""
    now = engine.now()
    period = await period_of(store, account, period_id, now)
    prices = engine.prices()
    symbols: dict[str, _Symbol] = defaultdict(_Symbol)
    for found in await store.results_by_symbol(account["_id"], period.started_at,
                                               period.ended_at):
        symbols[found["_id"]].add_results(found)
    # An ended period's trades are all closed: it ended with what they made.
    equity = period.base + sum((s.realized - s.fees for s in symbols.values()), ZERO)
    if period.current:
        open_trades = await engine.store.trades.find(account["_id"], status=TradeStatus.OPEN,
                                                     limit=None)
        for trade in open_trades:
            symbols[trade["symbol"]].add_open(trade, prices)
        equity = from_units(account["cash"]) + round_money(
            sum((s.unrealized for s in symbols.values()), ZERO))
    total = _Symbol()
    for part in symbols.values():
        for name in ("realized", "fees", "unrealized", "long", "short", "won", "lost", "open",
                     "closed", "wins", "losses"):
            setattr(total, name, getattr(total, name) + getattr(part, name))
    return {
        "period": period.view(), "current_period_id": account["resets"],
        "currency": account["currency"],
        **_totals(total, period.base, equity),
        **await _risk(store, account, period, equity, now),
        **_account_now(account, total, equity, period.current),
        "symbols": [symbols[name].view(name) for name in sorted(symbols)],
    }


def _totals(total: _Symbol, base: Decimal, equity: Decimal) -> dict[str, Any]:
    pnl = total.realized + total.unrealized
    return {
        "starting_equity": _money(base), "equity": _money(equity),
        "return_pct": _pct(equity - base, base),
        "realized_pnl": _money(total.realized), "unrealized_pnl": _money(total.unrealized),
        "active_pnl": _money(total.unrealized), "fees": _money(total.fees),
        "total_pnl": _money(pnl), "net_pnl": _money(pnl - total.fees),
        "open_trades": total.open, "closed_trades": total.closed, "wins": total.wins,
        "losses": total.losses,
        "win_rate_pct": _pct(Decimal(total.wins), Decimal(total.closed)),
        "average_win": _money(total.won / total.wins) if total.wins else None,
        "average_loss": _money(total.lost / total.losses) if total.losses else None,
        "profit_factor": show((total.won / -total.lost).quantize(CENT))
        if total.lost else None,
    }


def _account_now(account: Document, total: _Symbol, equity: Decimal,
                 current: bool) -> dict[str, Any]:
    """Margin and exposure: the account as it is now (null for a past period)."""
    if not current:
        return {"margin_used": None, "margin_utilization_pct": None, "available": None,
                "exposure": None}
    margin = from_units(account["margin_used"])
    gross = total.long + total.short
    return {
        "margin_used": _money(margin), "margin_utilization_pct": _pct(margin, equity),
        "available": _money(from_units(account["available"])),
        "exposure": {"long": _money(total.long), "short": _money(total.short),
                     "gross": _money(gross), "net": _money(total.long - total.short),
                     "gross_pct_of_equity": _pct(gross, equity)},
    }


async def _risk(store: SnapshotStore, account: Document, period: Period, equity: Decimal,
                now: Any) -> dict[str, Any]:
    """Drawdown and Sharpe, from the snapshots (and the equity now, while current)."""
    mark = period.mark
    state = Drawdown(period.base) if mark is None else Drawdown(
        from_units(mark["peak"]), from_units(mark["max_drawdown"]),
        from_units(mark["max_drawdown_fraction"]))
    if period.current:
        state = state.after(equity)
    end = period.ended_at or now
    first, last = floor_time(period.started_at, DAY), floor_time(end, DAY)
    closes: dict[date, Decimal] = {
        day.date(): from_units(value)
        for day, value in await store.day_closes(account["_id"], period.id, first, last)}
    if period.current:
        closes[last.date()] = equity
    returns = daily_returns(closes, first.date(), last.date(), period.base)
    ratio = sharpe(returns)
    return {"max_drawdown": _money(state.amount),
            "max_drawdown_pct": show((state.fraction * 100).quantize(CENT)),
            "sharpe_ratio": None if ratio is None else show(ratio),
            "daily_returns": len(returns), "risk_free_rate": "0",
            "sharpe_annualization_days": DAYS_PER_YEAR}
