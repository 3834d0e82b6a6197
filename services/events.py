"""User events: stored with a per-user sequence number, then pushed to the user's room."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import socketio

from handlers.rooms import user_room
from store.events import EventStore
from store.trading import AccountStore

Event = tuple[str, dict[str, Any]]


class EventPublisher:
    def __init__(self, store: EventStore, accounts: AccountStore, sio: socketio.AsyncServer,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.accounts = accounts
        self.sio = sio
        self.clock = clock

    async def publish(self, user_id: str, *events: Event) -> None:
        """Number, store and emit events, in order."""
        account = await self.accounts.number_events(user_id, len(events))
        if account is None:
            raise RuntimeError(f"no account for user {user_id}")
        await self.publish_numbered(user_id, account["event_seq"], list(events))

    async def publish_numbered(self, user_id: str, last_seq: int, events: list[Event]) -> None:
        """Store and emit events already numbered up to last_seq."""
        groups = [(user_id, last_seq, events)]
        await self.store_groups(groups)
        await self.emit_groups(groups)

    async def store_groups(self, groups: list[tuple[str, int, list[Event]]]) -> None:
        await self.store.append_group(
            [(user_id, events, last - len(events) + 1) for user_id, last, events in groups],
            self.clock())

    async def emit_groups(self, groups: list[tuple[str, int, list[Event]]]) -> None:
        """Send each user's events to the user's room, in order (handlers/socket_server.py:
        emit_many; alone, a socket gets a user's events of a group in one write)."""
        for user_id, last, events in groups:
            first = last - len(events) + 1
            await self.sio.manager.emit_many(user_room(user_id), [
                (kind, {"seq": seq, **data}) for seq, (kind, data) in enumerate(events, first)])
