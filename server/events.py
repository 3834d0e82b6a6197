"""User events: stored with a per-user sequence number, then pushed to the user's room."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import socketio

from server.sockets import user_room
from store.trading import EventStore

Event = tuple[str, dict[str, Any]]


class EventPublisher:
    def __init__(self, store: EventStore, sio: socketio.AsyncServer,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.sio = sio
        self.clock = clock

    async def publish(self, user_id: str, *events: Event) -> None:
        """Store events, then emit each with its seq, in order."""
        if not events:
            return
        seqs = await self.store.append(user_id, list(events), self.clock())
        for seq, (kind, data) in zip(seqs, events, strict=True):
            await self.sio.emit(kind, {"seq": seq, **data}, room=user_room(user_id))
