"""The public leaderboard: computed on a schedule, stored, and read a page at a time.

Users opt in on their profile (PATCH /api/v1/me ``{"leaderboard": true}``); they show
by their name only. Every LEADERBOARD_INTERVAL the cluster's leader (or a lone
process) makes a pass: it reads the opted-in users in batches of BATCH (at most
LEADERBOARD_MAX_USERS, by id), their accounts, period marks and day closes
(services/history.py's snapshots), ranks them on four boards (trading/leaderboard.py)
and stores the boards under a new pass (store/leaderboard.py). Requests then read a
range of ranks of the current pass.

Opting out deletes the user's entries at once; a pass that read the user before
then removes them again before it is published. A name change renames the stored
entries at once. Ranks and ratings otherwise are the last pass's.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from config.settings import HistorySettings
from services.engine import TradingEngine
from services.tasks import stopped
from store.database import Document
from store.history import mark_id
from trading.leaderboard import (
    RATING_DAYS,
    BoardPeriod,
    Standing,
    ranked,
    ratings,
    return_pct,
    risk_score,
    shown_name,
    window_return,
)
from trading.money import from_units
from trading.portfolio import EPOCH, daily_returns, floor_time

log = logging.getLogger(__name__)

BATCH = 500  # users read, and entries written, together
DAY = timedelta(days=1)


def display_name(user: Document) -> str:
    """The user's name as the boards show it (trading/leaderboard.py: shown_name), with
    an opaque handle that does not give the user id away."""
    handle = hashlib.sha256(f"leaderboard:{user['_id']}".encode()).hexdigest()[:8]
    return shown_name(str(user["name"]), str(user.get("email", "")), handle)


class _User:
    """What a pass knows of one opted-in user's current period."""

    def __init__(self, user: Document, account: Document, mark: Document | None,
                 today: date) -> None:
        self.id, self.name = str(user["_id"]), display_name(user)
        self.opted_in_at: datetime = user.get("leaderboard_at") or EPOCH
        self.base = from_units(account["initial"])
        started = (mark["started_at"] if mark is not None
                   else account["created_at"] if account["resets"] == 0 else None)
        self.first = today if started is None else floor_time(started, DAY).date()
        self.now = self.base if mark is None else from_units(mark["equity"])
        self.closes: dict[date, Decimal] = {}
        self.before: Decimal | None = None  # the last close before the closes read
        self.rating_score: Decimal | None = None

    def equity_before(self, day: date) -> Decimal:
        """The equity as day began: the last close of an earlier day of the period."""
        if day <= self.first:
            return self.base
        earlier = [d for d in self.closes if d < day]
        if earlier:
            return self.closes[max(earlier)]
        return self.base if self.before is None else self.before

    def ret(self, period: BoardPeriod, today: date) -> Decimal | None:
        days = period.days
        start = self.base if days is None else self.equity_before(
            today - timedelta(days=days - 1))
        return window_return(start, self.now)

    def score(self, today: date, min_days: int) -> Decimal | None:
        first = max(self.first, today - timedelta(days=RATING_DAYS - 1))
        closes = {**self.closes, today: self.now}
        return risk_score(daily_returns(closes, first, today, self.equity_before(first)),
                          min_days)


class Leaderboard:
    """Computes the boards (module docstring) and answers what requests ask of them."""

    def __init__(self, engine: TradingEngine, settings: HistorySettings,
                 leading: Callable[[], bool] = lambda: True) -> None:
        self.engine, self.settings, self.leading = engine, settings, leading
        self.board, self.snapshots = engine.store.board, engine.store.snapshots
        self._lock = asyncio.Lock()
        self._due: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._due = self.engine.now()  # a first pass soon after start
        self._task = asyncio.create_task(self._run(), name="leaderboard")

    async def stop(self) -> None:
        await stopped(self._task, "leaderboard")

    async def _run(self) -> None:
        interval = self.settings.leaderboard_interval.total_seconds()
        while True:
            due = self._due or self.engine.now()
            wait = (due - self.engine.now()).total_seconds()
            await asyncio.sleep(min(max(wait, 0.05), interval))
            try:
                await self.tick()
            except Exception:
                log.exception("leaderboard pass failed; the next pass tries again")

    async def tick(self) -> int:
        """Make a pass if one is due by the clock and this process leads."""
        now = self.engine.now()
        if self._due is None or now < self._due or not self.leading():
            return 0
        self._due = floor_time(now, self.settings.leaderboard_interval) + \
            self.settings.leaderboard_interval
        return await self.refresh()

    async def refresh(self) -> int:
        """Compute every board now and make them current; return the users ranked."""
        async with self._lock:
            now = self.engine.now()
            gen = await self.board.next_gen()
            try:
                users = await self._read(floor_time(now, DAY).date())
                return await self._publish(users, gen, now)
            except Exception:
                await self.board.discard(gen)  # what it wrote, never to be shown
                raise

    async def _read(self, today: date) -> list[_User]:
        found: list[_User] = []
        after: str | None = None
        cap = self.settings.leaderboard_max_users
        while len(found) < cap:
            wanted = min(BATCH, cap - len(found))
            users = await self.board.opted_in(after, wanted)
            if not users:
                break
            after = users[-1]["_id"]
            found.extend(await self._batch(users, today))
            if len(users) < wanted:
                break
        return found

    async def _batch(self, users: list[Document], today: date) -> list[_User]:
        ids = [u["_id"] for u in users]
        accounts = {a["_id"]: a for a in await self.snapshots.accounts_of(ids)}
        keys = [(uid, accounts[uid]["resets"]) for uid in ids if uid in accounts]
        marks = await self.snapshots.marks_of([mark_id(u, p) for u, p in keys])
        people = {u["_id"]: _User(u, accounts[u["_id"]],
                                  marks.get(mark_id(u["_id"], accounts[u["_id"]]["resets"])),
                                  today)
                  for u in users if u["_id"] in accounts}
        first = datetime.combine(today - timedelta(days=RATING_DAYS - 1), time(), tzinfo=UTC)
        for doc in await self.board.closes(keys, first):
            people[doc["user_id"]].closes[doc["day"].date()] = from_units(doc["equity"])
        # Those whose period began before the closes read: the close before them (one
        # indexed read each, a batch at a time).
        older = [(u, p) for u, p in keys if people[u].first < first.date()]
        found = await asyncio.gather(*(self.snapshots.day_before(u, p, first)
                                       for u, p in older))
        for (user_id, _), equity in zip(older, found, strict=True):
            if equity is not None:
                people[user_id].before = from_units(equity)
        for person in people.values():  # here, a batch at a time between reads
            person.rating_score = person.score(today, self.settings.rating_min_days)
        return list(people.values())

    async def _publish(self, users: list[_User], gen: int, now: datetime) -> int:
        today = floor_time(now, DAY).date()
        scores = {u.id: u.rating_score for u in users if u.rating_score is not None}
        rated = ratings(scores)
        names = {u.id: u.name for u in users}
        counts: dict[str, int] = {}
        for period in BoardPeriod:
            order = ranked(Standing(u.id, u.opted_in_at, u.ret(period, today)) for u in users)
            counts[period.value] = len(order)
            for start in range(0, len(order), BATCH):
                await self.board.write([
                    {"_id": f"{gen}:{period.value}:{s.user_id}", "gen": gen,
                     "kind": period.value, "rank": rank, "user_id": s.user_id,
                     "name": names[s.user_id], "return_pct": return_pct(s.ret),
                     "rating": rated.get(s.user_id)}
                    for rank, s in enumerate(order[start:start + BATCH], start=start + 1)])
        await self._apply_changes(now)
        if not await self.board.publish(gen, now, counts, len(rated)):
            return 0
        return len(users)

    async def _apply_changes(self, since: datetime) -> None:
        """Users who opted out or were renamed while the pass ran: as they are now."""
        for user in await self.board.changed_since(since):
            if user.get("leaderboard") and user.get("deleting_at") is None:
                await self.board.rename_user(user["_id"], display_name(user))
            else:
                await self.board.remove_user(user["_id"])

    # -- the profile --------------------------------------------------------------------

    async def opt(self, user_id: str, on: bool) -> None:
        """Put the user on the leaderboard or take them off it (at once)."""
        if on:  # an account to rank, from now if the user has none yet
            await self.engine.ensure_account(user_id)
        await self.board.opt(user_id, on, self.engine.now())
        if not on:
            await self.board.remove_user(user_id)

    async def renamed(self, user: Document) -> None:
        await self.board.renamed(user["_id"], display_name(user), self.engine.now())

    # -- what requests read -------------------------------------------------------------

    async def page(self, period: BoardPeriod, after_rank: int,
                   limit: int) -> tuple[Document | None, list[Document]]:
        """The current pass, and its period's entries ranked after after_rank, up to
        after_rank + limit."""
        state = await self.board.current()
        if state is None:
            return None, []
        return state, await self.board.page(state["gen"], period.value, after_rank, limit)

    async def standing(self, user: Document) -> dict[str, Any]:
        """The user's own rank on each board, and rating, as the last pass found them."""
        state = await self.board.current()
        found = {} if state is None else await self.board.of_user(state["gen"], user["_id"])
        boards: dict[str, Any] = defaultdict(lambda: None)
        rating = None
        for period in BoardPeriod:
            entry = found.get(period.value)
            if entry is not None:
                rating = entry["rating"]
                boards[period.value] = {"rank": entry["rank"],
                                        "of": state["counts"][period.value] if state else 0,
                                        "return_pct": entry["return_pct"]}
        return {"leaderboard": bool(user.get("leaderboard", False)),
                "name": display_name(user),
                "computed_at": None if state is None else state["computed_at"].isoformat(),
                "rating": rating,
                "rated_users": 0 if state is None else int(state["rated"]),
                "rating_min_days": self.settings.rating_min_days,
                "boards": {p.value: boards[p.value] for p in BoardPeriod}}
