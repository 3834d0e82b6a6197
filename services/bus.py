"""The in-process message bus: a unit of work's events go to every subscriber, once.

Subscribers are called in the order they subscribed, after the change committed. A
subscriber's failure is logged and does not reach the publisher or the others: the
change it reports is already durable.
"""

from __future__ import annotations

import inspect
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

M = TypeVar("M")
Handler = Callable[[Any], Awaitable[None] | None]


class MessageBus:
    def __init__(self) -> None:
        self._handlers: defaultdict[type, list[Handler]] = defaultdict(list)

    def subscribe(self, kind: type[M], handler: Callable[[M], Awaitable[None] | None]) -> None:
        self._handlers[kind].append(handler)

    def unsubscribe(self, kind: type[M],
                    handler: Callable[[M], Awaitable[None] | None]) -> None:
        self._handlers[kind].remove(handler)

    async def publish(self, *messages: object) -> None:
        for message in messages:
            for handler in list(self._handlers.get(type(message), ())):
                try:
                    result = handler(message)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("%s failed on %s", getattr(handler, "__qualname__", handler),
                                  type(message).__name__)
