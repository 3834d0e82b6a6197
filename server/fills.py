"""Market orders that arrive together are filled together: one database call per step.

A database call costs a round trip whatever it carries (an insert of
sixteen orders costs little more than an insert of one). Here the
orders that arrive while a group is being claimed and charged go together
as the next group (group commit; no timer, so a lone order goes at once).
A group's second stage overlaps the next group's first: ``_pay`` claims
the orders and charges their accounts; ``_complete`` stores their events
and meanwhile their trades, fees and the orders, filled, then sends the
events and answers. Groups complete in turn, so events are
stored and sent in the order they were numbered.

Each order is written once in its final state, so a crash at any point
leaves what TradingEngine.settle_claim and server/recovery.py finish or
undo: the order is claimed (store/trading.py: OrderStore, its copy as
placed, with its ``pending`` step); its account is charged in one
conditional update that also notes the step in ``pending_ops``; then the
order's events, its trade, its fee's ledger entry and, last, the order,
filled, are stored, and the step is ended on the account. A claim whose
account holds its step is completed by recovery; one that never reached
its account, by the first retry that meets it ("interrupted").

Orders of one account are charged together, in one update guarded on the
sum that also takes their event numbers; if the account cannot cover the
sum they are charged one at a time as before, so each is accepted or
refused exactly as it would have been alone. Each order is announced by
its ``order_update`` and ``trade_update``; each account, once per group, by
one ``account_update`` with its balances after all of its orders in it.

The group's steps end in one call once it is written, before it is
answered. A marker left by a failed call changes no balance; the next
group, the next try or start-up recovery ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from server.events import Event
from server.views import balances_view
from store.database import Document
from store.ledger import ledger_entry
from store.trading import GroupCharge
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
        # Per user, ops whose steps are over but still marked on the account: ended
        # after each group (_end_steps_left); those a failed call left, with the next.
        self._unended: dict[str, list[str]] = {}
        self._sending: asyncio.Task[None] | None = None
        self._paying = False  # a group is being claimed and charged
        self._completing: asyncio.Task[None] | None = None

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
        """Let the groups already taken finish writing and sending, and end their steps."""
        await _finished(self._runner)
        await _finished(self._completing)  # read after the runner ends: it may start one
        await _finished(self._sending)
        await self._end_steps_left()  # left after a failed try; recovery would end them

    async def _run(self) -> None:
        # While one group's orders are written (_complete), the next group is claimed
        # and charged (_pay): at most one group at each stage.
        while self._waiting:
            group, self._waiting = self._waiting[:self.most], self._waiting[self.most:]
            self._paying = True
            try:
                paid: _Paid | None = await self._pay(group)
            except Exception as error:  # each request of the group gets it
                for waiting in group:
                    waiting.settle(error)
                paid = None
            finally:
                self._paying = False
            if self._completing is not None:  # groups are completed in turn
                await asyncio.wait([self._completing])
            if paid is not None:
                self._completing = asyncio.create_task(self._complete(group, paid),
                                                       name="market-fills-complete")

    async def _complete(self, group: list[_Waiting], paid: _Paid) -> None:
        """Write a paid group's orders, then send their events and answer them."""
        try:
            announced, answers = (await self._finish(paid.charged, paid.now) if paid.charged
                                  else ([], []))
            answers += await self._echoes(paid.echoes)
        except Exception as error:  # each request of the group gets it
            for waiting in group:
                waiting.settle(error)
            return
        self._sending = asyncio.create_task(self._send(self._sending, announced, answers))

    async def _end_steps_left(self) -> None:
        """End every step still marked on its account, all in one call.

        The fills are complete by then, so a failure fails no order: a marker
        left on an account only holds back a repeat of its step, and the next
        try (or start-up recovery) ends it.
        """
        ends = {user_id: list(ops) for user_id, ops in self._unended.items()}
        if not ends:
            return
        try:
            await self.engine.store.accounts.end_ops(list(ends.items()))
        except Exception:
            log.exception("ending the steps of %d accounts failed", len(ends))
            return
        for user_id, ended in ends.items():
            self._ended(user_id, ended)

    def _ended(self, user_id: str, ops: list[str]) -> None:
        """Forget ops ended on their account (any marked since stay, for the next time)."""
        left = [op for op in self._unended.get(user_id, []) if op not in ops]
        if left:
            self._unended[user_id] = left
        else:
            self._unended.pop(user_id, None)

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

    async def _pay(self, group: list[_Waiting]) -> _Paid:
        """Claim a group's orders and charge their accounts."""
        fresh, echoes = await self._claim(group)
        now = self.engine.now()
        fills = [_Fill.of(self.engine, waiting, now) for waiting in fresh]
        charged = await self._charge([[fills[i] for i in indexes]
                                      for indexes in _by_user(fresh).values()])
        return _Paid(charged, echoes, now)

    async def _echoes(self, echoes: list[_Waiting]) -> Answers:
        """Answer each retry of an order of its own group with the order as stored."""
        answers: Answers = []
        for waiting in echoes:
            answer = await self.engine.store.orders.get(waiting.user_id, waiting.order["_id"])
            if answer is None:
                waiting.settle(DuplicateClientOrderId(details={"order_id": waiting.order["_id"]}))
            else:
                answers.append((waiting, answer))
        return answers

    async def _claim(self, group: list[_Waiting]) -> tuple[list[_Waiting], list[_Waiting]]:
        """Claim the orders; answer at once those whose client_order_id was taken.

        Returns the orders claimed, and the retries of orders of this very
        group (their ``order`` now the claim that holds the client_order_id),
        to be answered once those are done.
        """
        taken = await self.engine.store.orders.claim([w.order for w in group])
        ours = {w.order["_id"] for w in group}
        fresh, echoes = [], []
        for index, waiting in enumerate(group):
            if index not in taken:
                fresh.append(waiting)
                continue
            existing = taken[index]
            if (existing is not None and existing["_id"] in ours
                  and existing["fingerprint"] == waiting.order["fingerprint"]):
                waiting.order = existing
                echoes.append(waiting)
            else:
                try:
                    waiting.settle(await self.engine.existing_order(waiting.order, existing))
                except Exception as error:  # this retry's answer; the group goes on
                    waiting.settle(error)
        return fresh, echoes

    async def _charge(self, accounts: list[list[_Fill]]) -> list[tuple[list[_Fill], Document]]:
        """Charge each account for its orders and number their events.

        Returns, for each account that paid for any, the orders it paid for
        and the account after.
        """
        engine, store = self.engine, self.engine.store
        charges = []
        for fills in accounts:
            total: dict[str, int] = {}
            for fill in fills:
                for name, amount in engine.open_changes(fill.step).items():
                    total[name] = total.get(name, 0) + amount
            user_id = fills[0].waiting.user_id
            charges.append(GroupCharge(
                user_id, [f.waiting.op for f in fills], total, -total["available"],
                _numbers(fills)))
        applied = await store.accounts.apply_groups(charges, engine.now())
        charged = []
        for fills, account in zip(accounts, applied, strict=True):
            if account is not None:
                charged.append((fills, account))
            elif paid := await self._charge_one_by_one(fills):
                charged.append(paid)
        return charged

    async def _charge_one_by_one(self, fills: list[_Fill]) -> tuple[list[_Fill], Document] | None:
        """Charge one account that cannot pay for all its orders at once for each in turn,
        exactly as each would be alone; return the orders paid for and the account after."""
        engine, store = self.engine, self.engine.store
        user_id = fills[0].waiting.user_id
        paid = []
        for fill in fills:
            changes = engine.open_changes(fill.step)
            if await store.accounts.apply(user_id, fill.waiting.op, changes, engine.now(),
                                          need_available=-changes["available"]):
                paid.append(fill)
                continue
            try:
                await engine.refuse_open(fill.waiting.order)
            except InsufficientFunds as error:
                fill.waiting.settle(error)
        if not paid:
            return None
        account = await store.accounts.number_events(user_id, _numbers(paid))
        if account is None:
            raise RuntimeError("the account of an order being filled is gone")
        return paid, account

    async def _finish(self, charged: list[tuple[list[_Fill], Document]],
                      now: datetime) -> tuple[Announced, Answers]:
        """Store the events, trades and fees of paid orders, and the orders, filled;
        then end their steps.

        Groups are written in turn, so events are stored in the order of their
        numbers, as every other announcement is (a client that sees a gap
        fetches what it missed).
        """
        engine, store = self.engine, self.engine.store
        announced: Announced = []
        for fills, account in charged:
            user_id = fills[0].waiting.user_id
            last = account["event_seq"] - _numbers(fills)
            for fill in fills:
                last += len(fill.events)
                announced.append((user_id, last, fill.events))
            announced.append((user_id, last + 1,
                              [("account_update", {"account": balances_view(account)})]))
        paid = [fill for fills, _ in charged for fill in fills]

        async def books() -> None:
            await store.trades.insert_group([fill.trade for fill in paid])
            await store.ledger.record_group([
                ledger_entry(f"{f.waiting.op}:fee", f.waiting.user_id, -f.step["fee"],
                             "commission", f.waiting.order["_id"], now) for f in paid])
            # Last: an order stored says its fill is complete (TradingEngine.settle_claim,
            # server/recovery.py).
            await store.orders.insert_final([fill.filled for fill in paid])

        # The events meanwhile. Both end before the group goes on; the first failure
        # fails it.
        written = await asyncio.gather(engine.events.store_groups(announced), books(),
                                       return_exceptions=True)
        for outcome in written:
            if isinstance(outcome, BaseException):
                raise outcome
        for fills, _ in charged:
            user_id = fills[0].waiting.user_id
            self._unended.setdefault(user_id, []).extend(f.waiting.op for f in fills)
        await self._end_steps_left()
        for fill in paid:
            engine.changed("order", fill.filled)
            engine.changed("trade", fill.trade)
        return announced, [(fill.waiting, fill.filled) for fill in paid]


@dataclass
class _Paid:
    """A group claimed and charged, to be written."""

    charged: list[tuple[list[_Fill], Document]]  # each account's orders paid, account after
    echoes: list[_Waiting]  # retries of orders of the group, answered once they are written
    now: datetime


@dataclass
class _Fill:
    """What filling one order writes and announces (worked out before any of it is written)."""

    waiting: _Waiting
    filled: Document
    trade: Document
    events: list[Event]

    @property
    def step(self) -> Document:
        step: Document = self.waiting.order["pending"]
        return step

    @classmethod
    def of(cls, engine: TradingEngine, waiting: _Waiting, now: datetime) -> _Fill:
        filled = {**waiting.order, **engine.fill_changes(waiting.order, now), "pending": None}
        trade = engine.new_trade(waiting.order, now)
        return cls(waiting, filled, trade, engine.opened_events(filled, trade))


async def _finished(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _numbers(fills: list[_Fill]) -> int:
    """How many event numbers an account's orders take: their events, then its balances."""
    return sum(len(fill.events) for fill in fills) + 1


def _by_user(group: list[_Waiting]) -> dict[str, list[int]]:
    """The indexes of the group's orders by user, in arrival order."""
    users: dict[str, list[int]] = {}
    for i, waiting in enumerate(group):
        users.setdefault(waiting.user_id, []).append(i)
    return users
