"""The leaderboard at scale, on the real app and embedded database.

    python -m bench.leaderboard --users 20000 --days 30 --reads 500

USERS opted-in users with DAYS days of closes each, stored directly: the time of a
pass (reading them in batches, ranking four boards, writing them), then READS page
reads of 100 entries at random depths of the week's board (what GET
/api/v1/leaderboard asks of the database), p50 and p99. While the pass runs, a 5 ms
timer measures how late the event loop wakes.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from config.settings import HistorySettings, MarketSettings, Settings
from handlers import keys
from server.app import create_app
from services.auth import new_id
from store.history import day_id, mark_id
from trading.leaderboard import BoardPeriod
from trading.portfolio import floor_time

UNIT = 10**8
DAY = timedelta(days=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def store_users(app: web.Application, now: datetime, users: int, days: int) -> None:
    db, rng = app[keys.STORE].db, random.Random(7)
    began, today = now - days * DAY, floor_time(now, DAY)
    for first in range(0, users, 2000):
        ids = [new_id() for _ in range(min(2000, users - first))]
        await db["users"].insert_many([
            {"_id": u, "email": f"{u}@example.com", "name": f"Trader {u[:6]}",
             "created_at": began, "deleting_at": None, "leaderboard": True,
             "leaderboard_at": began} for u in ids])
        await db["accounts"].insert_many([
            {"_id": u, "user_id": u, "currency": "USD", "initial": 100_000 * UNIT,
             "cash": 100_000 * UNIT, "reserved": 0, "margin_used": 0,
             "available": 100_000 * UNIT, "realized_pnl": 0, "fees": 0, "resets": 0,
             "event_seq": 0, "created_at": began, "updated_at": now} for u in ids])
        closes, marks = [], []
        for u in ids:
            equity = 100_000.0
            for n in range(days):
                equity *= 1 + rng.gauss(0.0005, 0.01)
                day = today - (days - 1 - n) * DAY
                closes.append({"_id": day_id(u, 0, day), "user_id": u, "period": 0,
                               "day": day, "at": day, "equity": int(equity * UNIT)})
            marks.append({"_id": mark_id(u, 0), "user_id": u, "period": 0,
                          "base": 100_000 * UNIT, "started_at": began, "ended_at": None,
                          "at": now, "equity": int(equity * UNIT), "open_trades": 0,
                          "watch": False, "peak": int(equity * UNIT), "max_drawdown": 0,
                          "max_drawdown_fraction": 0})
        await db["equity_days"].insert_many(closes)
        await db["equity_marks"].insert_many(marks)


async def lateness(late: list[float]) -> None:
    """How late a 5 ms timer wakes, each time, until cancelled (the event loop's delay)."""
    while True:
        started = time.perf_counter()
        await asyncio.sleep(0.005)
        late.append((time.perf_counter() - started - 0.005) * 1000)


async def measure(app: web.Application, users: int, reads: int) -> None:
    board = app[keys.BOARD]
    late: list[float] = []
    timer = asyncio.create_task(lateness(late))
    started, cpu = time.perf_counter(), time.process_time()
    ranked = await board.refresh()
    print(f"pass: {ranked} users on 4 boards in {time.perf_counter() - started:.2f} s "
          f"({time.process_time() - cpu:.2f} s CPU in the server process)")
    timer.cancel()
    late.sort()
    print(f"meanwhile a 5 ms timer woke late by p50 {statistics.median(late):.1f} ms, "
          f"p99 {late[int(len(late) * 0.99) - 1]:.1f} ms, max {late[-1]:.1f} ms")
    rng, times = random.Random(11), []
    for _ in range(reads):
        after = rng.randrange(0, max(users - 100, 1))
        started = time.perf_counter()
        _, page = await board.page(BoardPeriod.WEEK, after, 100)
        times.append((time.perf_counter() - started) * 1000)
        assert page, "an empty page"
    times.sort()
    print(f"page of 100 at a random rank: p50 {statistics.median(times):.1f} ms, "
          f"p99 {times[int(len(times) * 0.99) - 1]:.1f} ms over {reads} reads")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--reads", type=int, default=500)
    args = parser.parse_args()
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    with tempfile.TemporaryDirectory(prefix="paperdesk-bench-") as data:
        settings = Settings(data_dir=Path(data), jwt_secret="x" * 32, bcrypt_cost=4,
                            log_level="WARNING",
                            market=MarketSettings(symbols="sim:AAPL=100"),
                            history=HistorySettings(leaderboard_max_users=args.users))
        app = create_app(settings, clock=clock, feeds=[])
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            await store_users(app, clock(), args.users, args.days)
            await measure(app, args.users, args.reads)
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
