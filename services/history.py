"""Equity snapshots, taken by the server on a schedule, and the portfolio history they make.

Equity is cash plus the unrealized P&L of the open trades at the latest prices (as
GET /account shows it). It moves with prices only for an account holding open
trades, and otherwise only when something happens to the account; so a pass,
every SNAPSHOT_INTERVAL by the app's clock, takes a snapshot of:

- each account that had activity since the last pass on this process (every
  stored user event marks its account: fills, exits, cancels, resets); and
- on the cluster's leader (or a lone process), each account whose latest
  snapshot found open trades (``watch`` on its mark, store/history.py), taken in
  turn; at start and on election, every account holding an open trade.

An idle account gets no snapshot; its history carries the last one forward. A
pass takes at most SNAPSHOTS_PER_PASS accounts, in batches of BATCH (three reads
and three writes each); the others wait for the next pass. A reset takes one
snapshot before (the period's last) and one after (the next period's first).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from config.settings import HistorySettings
from services.engine import TradingEngine
from services.reset import reset_account
from services.tasks import stopped
from services.views import unrealized
from store.database import Document
from store.history import SnapshotStore, day_id, mark_id
from trading.errors import AmountOutOfRange
from trading.events import UserEventsStored
from trading.money import from_units, round_money, to_units
from trading.portfolio import Drawdown, floor_time

log = logging.getLogger(__name__)

BATCH = 500  # accounts read and written together
MARK_ATTEMPTS = 3  # a mark another process changed meanwhile is read again this often
DAY = timedelta(days=1)


def equity_of(account: Document, open_trades: list[Document],
              prices: dict[str, Decimal]) -> Decimal:
    """Cash plus the open trades' unrealized P&L (a trade without a price counts 0)."""
    pnl = sum((unrealized(t, prices) or Decimal(0) for t in open_trades), Decimal(0))
    return from_units(account["cash"]) + round_money(pnl)


def next_mark(mark: Document | None, account: Document, equity: int, open_trades: int,
              now: datetime) -> Document | None:
    """The account's period mark once a snapshot of equity (units) at now is seen; None
    if the mark already holds a later snapshot."""
    period = account["resets"]
    if mark is not None and mark["at"] is not None and mark["at"] >= now:
        return None
    if mark is None:
        mark = {"_id": mark_id(account["_id"], period), "user_id": account["_id"],
                "period": period, "base": account["initial"], "ended_at": None,
                "started_at": account["created_at"] if period == 0 else now,
                "peak": account["initial"], "max_drawdown": 0, "max_drawdown_fraction": 0}
    state = Drawdown(from_units(mark["peak"]), from_units(mark["max_drawdown"]),
                     from_units(mark["max_drawdown_fraction"])).after(from_units(equity))
    return {**mark, "at": now, "equity": equity, "open_trades": open_trades,
            "watch": open_trades > 0, "peak": to_units(state.peak),
            "max_drawdown": to_units(state.amount),
            "max_drawdown_fraction": to_units(state.fraction)}


class Snapshots:
    """Takes equity snapshots (module docstring)."""

    def __init__(self, engine: TradingEngine, store: SnapshotStore, settings: HistorySettings,
                 leading: Callable[[], bool] = lambda: True) -> None:
        self.engine, self.store, self.settings, self.leading = engine, store, settings, leading
        self._active: dict[str, None] = {}  # accounts with activity since the last pass
        self._found: dict[str, None] = {}  # accounts with open trades found on election
        self._led = False
        self._turn: str | None = None  # the last watched mark the previous pass took
        self._due: datetime | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.taken = 0  # snapshots written by this process

    def touch(self, stored: UserEventsStored) -> None:
        """Bus subscriber: the account had activity."""
        self._active[stored.user_id] = None

    def forget(self, user_id: str) -> None:
        self._active.pop(user_id, None)
        self._found.pop(user_id, None)

    async def start(self) -> None:
        self._due = self._after(self.engine.now())
        self._task = asyncio.create_task(self._run(), name="history:snapshots")

    async def stop(self) -> None:
        await stopped(self._task, "equity snapshots")

    def _after(self, moment: datetime) -> datetime:
        """The first pass time after moment (multiples of the interval since the epoch)."""
        interval = self.settings.snapshot_interval
        return floor_time(moment, interval) + interval

    async def _run(self) -> None:
        interval = self.settings.snapshot_interval.total_seconds()
        while True:
            due = self._due or self.engine.now()
            wait = (due - self.engine.clock()).total_seconds()
            await asyncio.sleep(min(max(wait, 0.05), interval))
            try:
                await self.tick()
            except Exception:
                log.exception("equity snapshot pass failed; the next pass tries again")

    async def tick(self) -> int:
        """Take the snapshots due, if a pass is due by the clock; return how many."""
        async with self._lock:
            now = self.engine.now()
            if self._due is None or now < self._due:
                return 0
            self._due = self._after(now)
            return await self._take(await self._due_accounts(), now)

    async def _due_accounts(self) -> list[str]:
        room = self.settings.snapshots_per_pass
        leading = self.leading()
        if leading and not self._led:  # newly leading: every account with open trades
            self._found.update(dict.fromkeys(await self.store.users_with_open_trades()))
            self._turn = None
        self._led = leading
        chosen: dict[str, None] = {}
        for source in (self._active, self._found):
            while source and len(chosen) < room:
                user_id = next(iter(source))
                del source[user_id]
                chosen[user_id] = None
        if leading and len(chosen) < room:
            await self._take_turns(chosen, room - len(chosen))
        return list(chosen)

    async def _take_turns(self, chosen: dict[str, None], wanted: int) -> None:
        """Add up to wanted watched accounts, on from where the last pass stopped (past
        the last, on from the first)."""
        for _ in range(2):
            started = self._turn
            watched = await self.store.watched(started, wanted)
            chosen.update(dict.fromkeys(m["user_id"] for m in watched))
            wanted -= len(watched)
            self._turn = watched[-1]["_id"] if wanted == 0 else None
            if wanted == 0 or started is None:
                return

    async def take_now(self, user_ids: list[str]) -> int:
        """Take snapshots of these accounts now (outside the schedule)."""
        async with self._lock:
            return await self._take(user_ids, self.engine.now())

    async def _take(self, user_ids: list[str], now: datetime) -> int:
        taken = 0
        for start in range(0, len(user_ids), BATCH):
            taken += await self._batch(user_ids[start:start + BATCH], now)
        self.taken += taken
        return taken

    async def _batch(self, user_ids: list[str], now: datetime) -> int:
        accounts = await self.store.accounts_of(user_ids)
        trades: dict[str, list[Document]] = defaultdict(list)
        for trade in await self.store.open_trades_of([a["_id"] for a in accounts]):
            trades[trade["user_id"]].append(trade)
        prices, expires = self.engine.prices(), now + self.settings.snapshot_retention
        day = floor_time(now, DAY)
        snapshots, days, equities = [], [], {}
        for account in accounts:
            user_id, period = account["_id"], account["resets"]
            try:
                equity = to_units(equity_of(account, trades[user_id], prices))
            except AmountOutOfRange:
                log.warning("equity of account %s is beyond what the books keep", user_id)
                continue
            equities[user_id] = (account, equity, len(trades[user_id]))
            snapshots.append({"_id": f"{user_id}:{period}:{int(now.timestamp() * 1000)}",
                              "user_id": user_id, "period": period, "at": now,
                              "equity": equity, "cash": account["cash"],
                              "open_trades": len(trades[user_id]), "expires_at": expires})
            days.append({"_id": day_id(user_id, period, day), "user_id": user_id,
                         "period": period, "day": day, "at": now, "equity": equity})
        await self.store.save(snapshots, days)
        await self._marks(list(equities.values()), now)
        return len(snapshots)

    async def _marks(self, seen: list[tuple[Document, int, int]], now: datetime) -> None:
        """Fold each snapshot into its period's mark, reading again any another process
        changed meanwhile; a new period ends the ones before it."""
        for _ in range(MARK_ATTEMPTS):
            if not seen:
                return
            ids = {mark_id(a["_id"], a["resets"]): (a, e, n) for a, e, n in seen}
            stored = await self.store.marks_of(list(ids))
            writes = []
            for key, (account, equity, open_trades) in ids.items():
                mark = next_mark(stored.get(key), account, equity, open_trades, now)
                if mark is not None:
                    writes.append((mark, None if key not in stored else stored[key]["at"]))
            refused = await self.store.write_marks(writes)
            for mark, read_at in writes:
                if read_at is None and mark["period"] > 0 and mark["_id"] not in refused:
                    await self.store.unwatch_earlier(mark["user_id"], mark["period"],
                                                     mark["started_at"])
            seen = [ids[key] for key in refused]
        if seen:
            log.info("%d period marks kept changing; their snapshots stay unfolded", len(seen))


async def reset_with_history(engine: TradingEngine, snapshots: Snapshots,
                             user_id: str) -> dict[str, Any]:
    """Reset the account (services/reset.py) between two snapshots: the last of the
    period that ends, and the first of the one that starts."""
    await snapshots.take_now([user_id])
    view = await reset_account(engine, user_id)
    await snapshots.take_now([user_id])
    return view
