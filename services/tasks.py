"""Stopping a background task at shutdown without waiting on it forever."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger(__name__)

STOP_WITHIN = 5.0  # seconds a cancelled task may take to end


async def stopped(task: asyncio.Task[Any] | None, name: str,
                  within: float = STOP_WITHIN) -> None:
    """Cancel task and wait for it to end, at most within seconds: a pass inside a call
    that does not give way to cancellation (a database read the driver finishes first)
    must not hold up the shutdown. What the task raised, it raises here."""
    if task is None:
        return
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=within)
    if not done:
        log.warning("%s did not stop within %g s after it was cancelled; shutting down "
                    "without it", name, within)
        return
    with contextlib.suppress(asyncio.CancelledError):
        await task
