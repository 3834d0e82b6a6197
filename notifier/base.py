"""The message and the protocol every channel implements; a recording channel for tests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Message:
    user_id: str
    kind: str
    channel: str
    to: str
    subject: str
    # May hold secrets (a reset link): never logged.
    text: str
    # Identifies the message for idempotent delivery (outbox row id); may be empty.
    key: str = ""


class Channel(Protocol):
    name: str

    async def send(self, message: Message) -> None:
        """Deliver one message or raise."""


class RecordingChannel:
    """Keeps messages in memory. Stands in for a real channel until one is configured."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages: list[Message] = []
        self._changed = asyncio.Condition()

    async def send(self, message: Message) -> None:
        async with self._changed:
            self.messages.append(message)
            self._changed.notify_all()
        log.info("%s message '%s' for user %s recorded (not delivered)",
                 self.name, message.subject, message.user_id)

    async def wait_for(self, predicate: Callable[[Message], bool],
                       within: float = 5.0) -> Message:
        """Return the first recorded message matching predicate, waiting for it."""
        found: list[Message] = []

        def match() -> bool:
            found[:] = [m for m in self.messages if predicate(m)][:1]
            return bool(found)

        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(match)
        return found[0]
