"""An account's periods (a reset starts a new one) and its portfolio history, from the
equity snapshots services/history.py takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from services.engine import TradingEngine
from services.history import equity_of
from store.database import Document
from store.history import SnapshotStore
from trading.errors import InvalidInput
from trading.money import from_units, show
from trading.portfolio import ChartPeriod, Series, Timeframe, bucketed, floor_time, fraction
from trading.trades import TradeStatus

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Period:
    """One of an account's periods: 0 from its creation, each reset the next."""

    id: int
    current: bool
    started_at: datetime
    ended_at: datetime | None  # None while current
    mark: Document | None  # its running numbers (store/history.py), once a snapshot is taken
    base: Decimal  # the equity it started with

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "current": self.current,
                "started_at": self.started_at.isoformat(),
                "ended_at": None if self.ended_at is None else self.ended_at.isoformat()}


async def period_of(store: SnapshotStore, account: Document, period_id: int | None,
                    now: datetime) -> Period:
    """The account's period period_id (None: the current one), or InvalidInput naming
    period_id."""
    current = account["resets"]
    wanted = current if period_id is None else period_id
    if not 0 <= wanted <= current:
        raise InvalidInput(f"'period_id' must be a whole number from 0 to {current} "
                           "(each reset starts the next period).", field="period_id")
    mark = await store.mark(account["_id"], wanted)
    base = from_units(account["initial"] if mark is None else mark["base"])
    if mark is not None:
        started = mark["started_at"]
    else:  # no snapshot in it yet: period 0 began with the account
        started = account["created_at"] if wanted == 0 else now
    ended = None
    if wanted != current:
        ended = (mark or {}).get("ended_at")
        if ended is None:  # the next period's start, when its mark says
            following = await store.mark(account["_id"], wanted + 1)
            ended = following["started_at"] if following is not None else started
    return Period(wanted, wanted == current, started, ended, mark, base)


async def live_equity(engine: TradingEngine, account: Document) -> Decimal:
    trades = await engine.store.trades.find(account["_id"], status=TradeStatus.OPEN, limit=None)
    return equity_of(account, trades, engine.prices())


async def portfolio_history(engine: TradingEngine, store: SnapshotStore, account: Document,
                            period_id: int | None, chart: ChartPeriod,
                            timeframe: Timeframe) -> dict[str, Any]:
    """Alpaca's portfolio history of one period: equity at each timeframe step over the
    chart period (or the period's life, if shorter), and P&L against the equity at its
    start. The current period's last point is its equity now."""
    now = engine.now()
    period = await period_of(store, account, period_id, now)
    end = period.ended_at or now
    start = period.started_at
    if chart.length is not None:
        start = min(max(start, end - chart.length), end)
    user_id, step = account["_id"], timeframe.step
    live = await live_equity(engine, account) if period.current else None
    if timeframe.step < DAY:
        before = await store.point_before(user_id, period.id, start)
        points = await store.points(user_id, period.id, start, end)
    else:
        before = await store.day_before(user_id, period.id, floor_time(start, DAY))
        points = await store.day_closes(user_id, period.id, floor_time(start, DAY), end)
    base = period.base if before is None else from_units(before)
    series = bucketed([(at, from_units(equity)) for at, equity in points], base, start, end,
                      step, live)
    return {**_arrays(series), "timeframe": timeframe.value, "period": chart.value,
            "period_id": period.id}


def _arrays(series: Series) -> dict[str, Any]:
    base = series.base
    losses = [equity - base for equity in series.equity]
    shares = [fraction(loss, base) for loss in losses]
    return {"timestamp": [int(start.timestamp()) for start in series.starts],
            "equity": [show(equity) for equity in series.equity],
            "profit_loss": [show(loss) for loss in losses],
            "profit_loss_pct": [None if share is None else show(share) for share in shares],
            "base_value": show(base)}
