"""Notification bookkeeping waits while fires write, but never for long."""

import asyncio

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
