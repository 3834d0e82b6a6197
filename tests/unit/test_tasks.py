"""services/tasks.py: a background task is stopped at shutdown, never waited on forever."""

import asyncio
import logging

import pytest

from services.tasks import stopped


async def test_a_task_that_does_not_give_way_is_left_after_the_wait(caplog):
    release = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await release.wait()  # as a driver call that finishes first

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    caplog.set_level(logging.WARNING)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await stopped(task, "stubborn pass", within=0.1)
    assert loop.time() - began < 1.0
    assert "stubborn pass did not stop within 0.1 s" in caplog.text
    release.set()
    await task


async def test_a_task_that_stops_is_awaited_and_its_failure_raised():
    async def failing() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("broke while stopping") from None

    quiet = asyncio.create_task(asyncio.Event().wait())
    broken = asyncio.create_task(failing())
    await asyncio.sleep(0)
    await stopped(quiet, "quiet")
    assert quiet.cancelled()
    with pytest.raises(RuntimeError, match="broke while stopping"):
        await stopped(broken, "broken")
    await stopped(None, "never started")
