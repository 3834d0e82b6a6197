"""Money first: background bookkeeping waits while fires are writing.

Against FerretDB the server keeps one connection per database
(store/database.py: connect; store/layout.py), so every command waits for
the ones queued before it on its database. A stop-loss close queued behind
a notification's bookkeeping is late by that much. Work that moves money in
reaction to a price (the monitor's fires) runs inside ``urgent()``; the
notification worker calls ``clear()`` before each step of its own, which
waits while urgent work is under way, but never longer than ``patience``
seconds, so a steady stream of fires slows notifications down without
stopping them. With MongoDB (a pool of connections) nothing waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar

# Set inside urgent(): such database calls go first (store/keyed.py: OneConnection).
URGENT: ContextVar[bool] = ContextVar("urgent", default=False)


class Lanes:
    def __init__(self, enabled: bool, patience: float = 0.05) -> None:
        self.enabled = enabled
        self.patience = patience
        self._urgent = 0
        self._clear = asyncio.Event()
        self._clear.set()

    @contextlib.asynccontextmanager
    async def urgent(self) -> AsyncIterator[None]:
        """Mark money-moving work under way."""
        self._urgent += 1
        self._clear.clear()
        token = URGENT.set(True)
        try:
            yield
        finally:
            URGENT.reset(token)
            self._urgent -= 1
            if not self._urgent:
                self._clear.set()

    async def clear(self) -> None:
        """Wait (at most patience) until no urgent work is under way."""
        if self.enabled and self._urgent:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.patience):
                    await self._clear.wait()
