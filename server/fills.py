"""Market orders that arrive together are filled together: one database call per step.

On the embedded FerretDB a call costs about a millisecond whatever it
carries (an insert of sixteen orders costs little more than an insert of
one), and calls take turns on one connection. Filling each market order on
its own took seven or eight calls, so orders queued behind each other's
calls. Here, while one group is being written, the orders that arrive wait,
and then go as the next group (group commit): no timer, so a lone order
goes at once. A group's events are sent to the sockets while the next
group is written (in order: each group's after the one before), and each
order is answered once its events have gone.

Each order takes the steps every fill takes (TradingEngine._fill and
_finish_open), with the same records, so a crash at any point leaves what
server/recovery.py already finishes or undoes: the order is stored as
``new`` with its ``pending`` step; its account is charged in one
conditional update that also notes the step in ``pending_ops``; then the
trade and the fee's ledger entry are stored, the order is marked filled,
and the step is ended. Orders of one account are charged together, in
one update guarded on the sum; if the account cannot cover the sum they
are charged one at a time as before, so each is accepted or refused
exactly as it would have been alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from server.events import Event
from server.views import balances_view
from store.database import Document
from store.trading import ledger_entry
from trading.errors import DuplicateClientOrderId, InsufficientFunds

if TYPE_CHECKING:
    from server.engine import TradingEngine

log = logging.getLogger(__name__)
Announced = list[tuple[str, int, list[Event]]]
Answers = list[tuple["_Waiting", Document]]


@dataclass
class _Waiting:
    order: Document
    done: asyncio.Future[Document] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def user_id(self) -> str:
        return str(self.order["user_id"])

    @property
    def op(self) -> str:
        return str(self.order["pending"]["op"])

    def settle(self, result: Document | BaseException) -> None:
        if self.done.done():  # its request was cancelled; the order is filled all the same
            return
        if isinstance(result, BaseException):
            self.done.set_exception(result)
        else:
            self.done.set_result(result)


class MarketFills:
    """Fill new market orders in groups (module docstring)."""

    def __init__(self, engine: TradingEngine, most: int = 64) -> None:
        self.engine = engine
        self.most = most
        self._waiting: list[_Waiting] = []
        self._runner: asyncio.Task[None] | None = None
        self._sending: asyncio.Task[None] | None = None

    async def fill(self, order: Document) -> Document:
        """Store, charge and fill a new market order (its open step set); return it filled.

        Raises DuplicateClientOrderId or InsufficientFunds as placing it alone
        would; a retry of an order already stored returns that order.
        """
        waiting = _Waiting(order)
        self._waiting.append(waiting)
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="market-fills")
        return await waiting.done

    async def close(self) -> None:
        """Let the groups already taken finish writing and sending."""
        for task in (self._runner, self._sending):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _run(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:self.most], self._waiting[self.most:]
            try:
                announced, answers = await self._fill(group)
            except Exception as error:  # each request of the group gets it
                for waiting in group:
                    waiting.settle(error)
                continue
            self._sending = asyncio.create_task(self._send(self._sending, announced, answers))

    async def _send(self, before: asyncio.Task[None] | None, announced: Announced,
                    answers: Answers) -> None:
        try:
            if before is not None:  # events leave in the order they were numbered
                await asyncio.wait([before])
            await self.engine.events.emit_groups(announced)
        except Exception:  # the events are stored: a client can fetch what it missed
            log.exception("sending the events of %d orders failed", len(answers))
        finally:
            for waiting, order in answers:
                waiting.settle(order)

    async def _fill(self, group: list[_Waiting]) -> tuple[Announced, Answers]:
        """Write a group; return its events (stored, to send) and its answers."""
        fresh, echoes = await self._store(group)
        charged: list[_Waiting] = []
        for indexes in _by_user(fresh).values():
            charged.extend(await self._charge([fresh[i] for i in indexes]))
        announced, answers = await self._finish(charged) if charged else ([], [])
        for waiting in echoes:  # a retry answers with the order as stored
            answer = await self.engine.store.orders.get(waiting.user_id, waiting.order["_id"])
            if answer is None:
                waiting.settle(DuplicateClientOrderId(details={"order_id": waiting.order["_id"]}))
            else:
                answers.append((waiting, answer))
        return announced, answers

    async def _store(self, group: list[_Waiting]) -> tuple[list[_Waiting], list[_Waiting]]:
        """Insert the orders; settle at once those whose client_order_id was taken.

        Returns the orders inserted, and the retries of orders of this very
        group (their ``order`` now the one that holds the client_order_id),
        to be answered once those are done.
        """
        taken = await self.engine.store.orders.insert_group([w.order for w in group])
        ours = {w.order["_id"] for w in group}
        fresh, echoes = [], []
        for index, waiting in enumerate(group):
            if index not in taken:
                fresh.append(waiting)
                continue
            existing = taken[index]
            if existing is None or existing["fingerprint"] != waiting.order["fingerprint"]:
                waiting.settle(DuplicateClientOrderId(
                    details={"order_id": None if existing is None else existing["_id"]}))
            elif existing["_id"] in ours:
                waiting.order = existing
                echoes.append(waiting)
            else:
                waiting.settle(existing)
        return fresh, echoes

    async def _charge(self, orders: list[_Waiting]) -> list[_Waiting]:
        """Charge one account for its orders; return those it paid for."""
        engine, store = self.engine, self.engine.store
        total: dict[str, int] = {}
        for waiting in orders:
            for name, amount in engine.open_changes(waiting.order["pending"]).items():
                total[name] = total.get(name, 0) + amount
        user_id = orders[0].user_id
        if await store.accounts.apply_group(user_id, [w.op for w in orders], total, engine.now(),
                                            need_available=-total["available"]):
            return orders
        paid = []  # one at a time, exactly as each would be alone
        for waiting in orders:
            step = waiting.order["pending"]
            changes = engine.open_changes(step)
            if await store.accounts.apply(user_id, step["op"], changes, engine.now(),
                                          need_available=-changes["available"]):
                paid.append(waiting)
                continue
            try:
                await engine.refuse_open(waiting.order)
            except InsufficientFunds as error:
                waiting.settle(error)
        return paid

    async def _finish(self, charged: list[_Waiting]) -> tuple[Announced, Answers]:
        engine, store, now = self.engine, self.engine.store, self.engine.now()
        trades = [engine.new_trade(w.order, now) for w in charged]
        await store.trades.insert_group(trades)
        await store.ledger.record_group([
            ledger_entry(f"{w.op}:fee", w.user_id, -w.order["pending"]["fee"], "commission",
                         w.order["_id"], now) for w in charged])
        fills = [engine.fill_changes(w.order, now) for w in charged]
        await store.orders.end_steps([(w.order["_id"], w.op, changes)
                                      for w, changes in zip(charged, fills, strict=True)])
        filled = [{**w.order, **changes, "pending": None}
                  for w, changes in zip(charged, fills, strict=True)]
        announced: Announced = []
        for user_id, indexes in _by_user(charged).items():
            events = {i: engine.opened_events(filled[i], trades[i]) for i in indexes}
            count = sum(len(e) + 1 for e in events.values())
            account = await store.accounts.finish_group(user_id, [charged[i].op for i in indexes],
                                                        count)
            if account is None:
                raise RuntimeError(f"no account for user {user_id}")
            balances = ("account_update", {"account": balances_view(account)})
            last = account["event_seq"] - count
            for i in indexes:
                last += len(events[i]) + 1
                announced.append((user_id, last, [*events[i], balances]))
        for order, trade in zip(filled, trades, strict=True):
            engine.changed("order", order)
            engine.changed("trade", trade)
        await engine.events.store_groups(announced)
        return announced, list(zip(charged, filled, strict=True))


def _by_user(group: list[_Waiting]) -> dict[str, list[int]]:
    """The indexes of the group's orders by user, in arrival order."""
    users: dict[str, list[int]] = {}
    for i, waiting in enumerate(group):
        users.setdefault(waiting.user_id, []).append(i)
    return users
