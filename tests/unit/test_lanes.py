"""Fires go first: notification bookkeeping waits for them (never for long), and
their database calls jump the queue on the one FerretDB connection."""

import asyncio

from store.keyed import OneConnection
from store.lanes import Lanes


async def test_clear_waits_until_urgent_work_ends():
    lanes = Lanes(enabled=True, patience=60)
    async with lanes.urgent():
        waiting = asyncio.create_task(lanes.clear())
        for _ in range(5):
            await asyncio.sleep(0)
        assert not waiting.done()
    async with asyncio.timeout(1):
        await waiting


async def test_clear_gives_up_waiting_after_its_patience():
    lanes = Lanes(enabled=True, patience=0.01)
    async with lanes.urgent(), asyncio.timeout(5):
        await lanes.clear()


async def test_nothing_waits_when_disabled_or_idle():
    for lanes, busy in ((Lanes(enabled=False, patience=60), True),
                        (Lanes(enabled=True, patience=60), False)):
        if busy:
            async with lanes.urgent(), asyncio.timeout(1):
                await lanes.clear()
        else:
            async with asyncio.timeout(1):
                await lanes.clear()


async def test_database_calls_take_turns_urgent_ones_first():
    one, order, gate = OneConnection(), [], asyncio.Event()

    async def call(name: str) -> None:
        order.append(f"{name} starts")
        if name == "first":
            await gate.wait()
        order.append(f"{name} ends")

    async def urgent_call(lanes: Lanes) -> None:
        async with lanes.urgent():
            await one.call(call, "urgent")

    first = asyncio.create_task(one.call(call, "first"))
    await asyncio.sleep(0)
    normal = asyncio.create_task(one.call(call, "normal"))
    cancelled = asyncio.create_task(one.call(call, "cancelled"))
    urgent = asyncio.create_task(urgent_call(Lanes(enabled=True)))
    for _ in range(3):
        await asyncio.sleep(0)
    cancelled.cancel()
    gate.set()
    await asyncio.gather(first, normal, urgent)
    assert cancelled.cancelled()
    assert order == ["first starts", "first ends", "urgent starts", "urgent ends",
                     "normal starts", "normal ends"]
    # Free again: the next call goes straight through.
    async with asyncio.timeout(1):
        await one.call(call, "later")
