"""The outbox worker: every notification is stored first, then delivered, with retries.

A request becomes one row per channel, keyed by the event, so the same event
never yields two messages on one channel. The worker claims due rows and
delivers each in a task of its own (a hanging mail server delays only its own
messages), retrying with exponential backoff until max_attempts. Rows cut
short by a stop are put back at start-up. A channel that is not configured
records its rows as skipped, with the reason, never as sent.

Every notification of a user counts against their budget (``budget``: so
many an hour over every channel). One notification counts once, however
many channels it goes to; past the budget its rows are recorded as skipped
with the reason ``budget`` and nothing is sent. Messages that carry a
secret link (``sensitive``: a password reset, the welcome) are what the user
asked for just now and are neither counted nor refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from notifier.base import Channel, Message
from notifier.templates import render
from store.database import Document, stored_time
from store.outbox import OutboxStore
from store.users import UserStore
from trading.errors import RateLimited

log = logging.getLogger(__name__)

CHANNELS = ("in_app", "email", "sms")


class Budget(Protocol):
    """Each user's notifications per window (the service layer's rate limit)."""

    events: int
    seconds: float

    async def hit(self, key: str) -> object:
        """Count one event for key, or raise RateLimited if over."""
# Why a row was skipped (its ``reason``; ``last_error`` says it in words).
OVER_BUDGET, CHANNEL_OFF, NO_ADDRESS = "budget", "channel_off", "no_address"


class OutboxWorker:
    def __init__(self, outbox: OutboxStore, users: UserStore, channels: Mapping[str, Channel],
                 clock: Callable[[], datetime], *, max_attempts: int = 8,
                 retry_first: float = 5.0, retry_max: float = 600.0, poll: float = 1.0,
                 send_timeout: float = 30.0,
                 budget: Budget | None = None) -> None:
        """budget: each user's notifications per window (Limits.notifications; None:
        no budget)."""
        self.outbox, self.users, self.channels = outbox, users, dict(channels)
        self.budget = budget
        self.clock = clock
        self.max_attempts, self.retry_first, self.retry_max = max_attempts, retry_first, retry_max
        self.poll, self.send_timeout = poll, send_timeout
        self._wake = asyncio.Event()
        self._quiet = asyncio.Event()
        # Bumped by every request and nudge: a pass that began before one must not
        # declare the outbox quiet with its stale view.
        self._generation = 0
        self._sending: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        return stored_time(self.clock())

    async def request(self, user_id: str, kind: str, key: str, channels: list[str],
                      data: dict[str, Any], sensitive: bool = False) -> int:
        """Queue a notification on each channel; return how many rows were new."""
        rows = await self.rows(user_id, kind, key, channels, data, sensitive)
        added = await self.outbox.add(rows)
        self.added()
        return added

    async def rows(self, user_id: str, kind: str, key: str, channels: list[str],
                   data: dict[str, Any], sensitive: bool = False) -> list[Document]:
        """The outbox rows of a notification, one per channel, for the caller to store
        (with the change they report, in one unit of work) and then call ``added``.

        A sensitive message (one carrying a secret link) has its data erased
        as soon as it is sent, skipped or given up on; it is not counted
        against the user's budget. Any other request counts once, and past the
        budget its rows are recorded as skipped (reason ``budget``).
        """
        now = self.now()
        over_budget = None if sensitive or not channels else await self._over_budget(user_id)
        rows = [{"_id": f"{key}:{channel}", "user_id": user_id, "kind": kind,
                 "channel": channel, "data": data, "sensitive": sensitive,
                 "status": "pending", "attempts": 0,
                 "last_error": None, "next_attempt_at": now, "lease_until": None,
                 "created_at": now, "updated_at": now} for channel in channels]
        for row in rows:
            if over_budget is not None:  # recorded as skipped, never tried
                row.update(status="skipped", next_attempt_at=None, reason=OVER_BUDGET,
                           last_error=over_budget)
            elif row["channel"] not in self.channels:
                row.update(status="skipped", next_attempt_at=None, reason=CHANNEL_OFF,
                           last_error=f"the {row['channel']} channel is not configured",
                           data={} if sensitive else data)
        return rows

    def added(self) -> None:
        """New rows are stored: look at them now."""
        self._generation += 1
        self._quiet.clear()
        self._wake.set()

    async def _over_budget(self, user_id: str) -> str | None:
        """Count one notification of the user; say why not if over their budget."""
        if self.budget is None:
            return None
        try:
            await self.budget.hit(user_id)
        except RateLimited:
            return (f"over the budget of {self.budget.events} notifications "
                    f"per {self.budget.seconds:g} s")
        return None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in self._sending:
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)

    def nudge(self) -> None:
        """Look for due messages now (e.g. after the clock moved)."""
        self._generation += 1
        self._quiet.clear()
        self._wake.set()

    async def quiet(self) -> None:
        """Wait until nothing is due and no delivery is under way (retries may be waiting)."""
        await self._quiet.wait()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            generation = self._generation
            due: list[Document] = []
            try:
                due = await self.outbox.due(self.now())
                if due:
                    self._quiet.clear()
                for row in due:
                    claimed = await self.outbox.claim(
                        row["_id"], self.now(),
                        self.now() + timedelta(seconds=self.send_timeout * 2))
                    if claimed is not None:
                        task = asyncio.create_task(self._deliver(claimed))
                        self._sending.add(task)
                        task.add_done_callback(self._delivered)
            except Exception:
                log.exception("outbox pass failed")
            if not due and not self._sending and generation == self._generation:
                self._quiet.set()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancel that lands as the event is set, and stop() would wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._wake.wait()

    def _delivered(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._wake.set()  # look again: a retry may be due, or all may be done

    async def _deliver(self, row: Document) -> None:
        channel = self.channels.get(row["channel"])
        if channel is None:
            await self._end(row, "skipped", reason=CHANNEL_OFF,
                            last_error=f"the {row['channel']} channel is not configured")
            return
        user = await self.users.by_id(row["user_id"])
        address = None if user is None else {"email": user["email"], "sms": user.get("phone"),
                                             "in_app": user["_id"]}.get(row["channel"])
        if address is None:
            await self._end(row, "skipped", reason=NO_ADDRESS,
                            last_error="no address for this channel")
            return
        subject, text = render(row["kind"], row["data"])
        message = Message(user_id=row["user_id"], kind=row["kind"], channel=row["channel"],
                          to=address, subject=subject, text=text, key=row["_id"])
        try:
            await asyncio.wait_for(channel.send(message), self.send_timeout)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
            if row["attempts"] >= self.max_attempts:
                log.warning("giving up on %s message %s: %s", row["channel"], row["_id"], error)
                await self._end(row, "failed", last_error=error)
            else:
                delay = min(self.retry_max, self.retry_first * 2 ** (row["attempts"] - 1))
                await self.outbox.finish(row["_id"], "pending", self.now(), last_error=error,
                                         next_attempt_at=self.now() + timedelta(seconds=delay))
            return
        await self._end(row, "sent", sent_at=self.now())

    async def _end(self, row: Document, status: str, **fields: Any) -> None:
        """Record a final status; a sensitive message's data is erased with it."""
        if row.get("sensitive"):
            fields["data"] = {}
        await self.outbox.finish(row["_id"], status, self.now(), **fields)
