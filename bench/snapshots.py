"""Equity snapshots and history reads at scale, on the real app and embedded database.

    python -m bench.snapshots --accounts 10000 --passes 3

(a) ACCOUNTS accounts, each holding an open trade, stored directly: the time of
each snapshot pass (the first finds them by their open trades, the next ones by
their marks), and the CPU the pass took in this process.
(b) One account with a week of minute snapshots: GET-equivalent portfolio history
1W at 1Min (10,080 points), 1W at 15Min, and 1A at 1D.
(c) One account with TRADES closed trades (an opening fill and an exit each):
the first page of its activities (100), and the page after.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from aiohttp import web

from config.settings import HistorySettings, MarketSettings, Settings
from handlers import keys
from server.app import create_app
from services.activities import list_activities
from services.auth import new_id
from services.portfolio import portfolio_history
from trading.activities import Window, parse_types
from trading.market import Quote
from trading.portfolio import ChartPeriod, Timeframe

UNIT = 10**8


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def account(user_id: str, now: datetime) -> dict[str, object]:
    return {"_id": user_id, "user_id": user_id, "currency": "USD", "initial": 100_000 * UNIT,
            "cash": 100_000 * UNIT, "reserved": 0, "margin_used": 100 * UNIT,
            "available": 99_900 * UNIT, "realized_pnl": 0, "fees": 0, "resets": 0,
            "event_seq": 0, "created_at": now, "updated_at": now}


def trade(user_id: str, now: datetime, status: str = "open",
          exits: list[dict[str, object]] | None = None) -> dict[str, object]:
    return {"_id": new_id(), "user_id": user_id, "order_id": "o", "symbol": "AAPL",
            "side": "buy", "quantity": UNIT if status == "open" else 0, "initial_quantity": UNIT,
            "entry_price": 100 * UNIT, "status": status, "margin": 100 * UNIT, "fees": 0,
            "realized_pnl": 0, "exits": exits or [], "opened_at": now}


async def measure_passes(app: web.Application, clock: Clock, accounts: int, passes: int) -> None:
    db = app[keys.STORE].db
    users = [new_id() for _ in range(accounts)]
    for start in range(0, accounts, 5000):
        batch = users[start:start + 5000]
        await db["accounts"].insert_many([account(u, clock()) for u in batch])
        await db["trades"].insert_many([trade(u, clock()) for u in batch])
    snapshots, hub = app[keys.HISTORY], app[keys.MARKET].hub
    for n in range(passes):
        clock.now += timedelta(minutes=1)
        hub.publish(Quote("AAPL", Decimal(100 + n), clock(), "sim"))
        started, cpu = time.perf_counter(), time.process_time()
        taken = await snapshots.tick()
        print(f"pass {n + 1}: {taken} snapshots in {time.perf_counter() - started:.2f} s "
              f"({time.process_time() - cpu:.2f} s CPU in the server process)")


async def measure_history(app: web.Application, clock: Clock) -> None:
    db, engine = app[keys.STORE].db, app[keys.ENGINE]
    user, start = new_id(), clock() - timedelta(days=7)
    await db["accounts"].insert_one(account(user, start))
    minutes = 7 * 24 * 60
    await db["equity_snapshots"].insert_many([
        {"_id": f"{user}:0:{n}", "user_id": user, "period": 0,
         "at": start + timedelta(minutes=n), "equity": (100_000 + n % 97) * UNIT,
         "cash": 100_000 * UNIT, "open_trades": 1,
         "expires_at": clock() + timedelta(days=8)} for n in range(minutes)])
    stored = await db["accounts"].find_one({"_id": user})
    for chart, step in ((ChartPeriod.WEEK, Timeframe.MINUTE),
                        (ChartPeriod.WEEK, Timeframe.FIFTEEN_MINUTES),
                        (ChartPeriod.YEAR, Timeframe.DAY)):
        started = time.perf_counter()
        body = await portfolio_history(engine, engine.store.snapshots, stored, None, chart,
                                       step)
        print(f"portfolio history {chart}/{step}: {len(body['timestamp'])} points in "
              f"{(time.perf_counter() - started) * 1000:.1f} ms")


async def measure_activities(app: web.Application, clock: Clock, trades: int) -> None:
    db, engine = app[keys.STORE].db, app[keys.ENGINE]
    user, start = new_id(), clock() - timedelta(days=30)
    await db["accounts"].insert_one(account(user, start))
    step = timedelta(days=30) / trades
    docs, orders = [], []
    for n in range(trades):
        opened = start + step * n
        doc = trade(user, opened, "closed", [{"quantity": UNIT, "price": 101 * UNIT,
                                              "pnl": UNIT, "reason": "manual",
                                              "at": opened + step / 2}])
        docs.append(doc)
        orders.append({"_id": doc["_id"], "user_id": user, "client_order_id": doc["_id"],
                       "symbol": "AAPL", "side": "buy", "type": "market", "quantity": UNIT,
                       "status": "filled", "filled_price": 100 * UNIT, "filled_at": opened,
                       "trade_id": doc["_id"], "time_in_force": "gtc", "created_at": opened})
    for first in range(0, trades, 5000):
        await db["trades"].insert_many(docs[first:first + 5000])
        await db["orders"].insert_many(orders[first:first + 5000])
    stored = await db["accounts"].find_one({"_id": user})
    window = Window(None, None, None, descending=True)
    for label in ("first page", "next page"):
        started = time.perf_counter()
        found = await list_activities(engine.store.activities, stored, parse_types(None),
                                      window, 100, engine.now())
        print(f"activities {label} of {trades} trades' fills: {len(found[:100])} in "
              f"{(time.perf_counter() - started) * 1000:.1f} ms")
        window = Window(None, None, found[99].position, descending=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--trades", type=int, default=20_000)
    args = parser.parse_args()
    clock = Clock(datetime.now(UTC).replace(second=10, microsecond=0))
    with tempfile.TemporaryDirectory(prefix="paperdesk-bench-") as data:
        settings = Settings(data_dir=Path(data), jwt_secret="x" * 32, bcrypt_cost=4,
                            log_level="WARNING",
                            market=MarketSettings(symbols="sim:AAPL=100"),
                            history=HistorySettings(snapshots_per_pass=args.accounts))
        app = create_app(settings, clock=clock, feeds=[])
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            await measure_passes(app, clock, args.accounts, args.passes)
            await measure_history(app, clock)
            await measure_activities(app, clock, args.trades)
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
