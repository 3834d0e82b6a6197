"""Plain-WebSocket clients (/ws): who is connected, and the events they are sent.

Events reach them from the same emits as Socket.IO clients: the Socket.IO
managers (handlers/socket_server.py) hand every room emit that arrives in this process,
from here or through Redis, to `PlainClients.deliver` as well. Messages are
JSON objects: an event `{type: <event>, ...payload}` (a payload that is not an
object goes under `data`), and command answers `{type: "ack", id, ok, ...}`.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from handlers import wire_json
from handlers.frames import Backlog, text_frame
from handlers.rooms import session_room, user_room
from services.principal import Principal


def event_message(event: str, data: Any) -> dict[str, Any]:
    if event == "prices":
        return {"type": "prices", "quotes": data}
    if isinstance(data, dict):
        return {"type": event, **data}
    return {"type": event, "data": data}


@dataclass(eq=False)
class PlainClient:
    ws: web.WebSocketResponse
    # The connection's TCP transport: messages are written to it as whole,
    # prebuilt frames (server frames are unmasked and sent uncompressed), the
    # way Socket.IO prices are (handlers/streaming.py).
    transport: asyncio.Transport
    principal: Principal
    # What may wait unsent for it: checked after every write (handlers/frames.py).
    backlog: Backlog | None = None
    id: str = field(default_factory=lambda: "ws:" + secrets.token_hex(8))
    # A client of another protocol (Alpaca's streams, handlers/alpaca/): handed the
    # events (and messages) to translate, a batch at a time, instead of their JSON.
    relay: Callable[[list[tuple[str, Any]]], None] | None = None

    def send(self, message: dict[str, Any]) -> None:
        if self.relay is not None:
            self.relay([(str(message.get("type")), message)])
            return
        self.write(frame(message))

    def write(self, encoded: bytes) -> None:
        if not self.ws.closed and not self.transport.is_closing():
            self.transport.write(encoded)
            if self.backlog is not None:
                self.backlog.check_transport(self.transport, self.id)

    @property
    def rooms(self) -> tuple[str, str]:
        return user_room(self.principal.user_id), session_room(self.principal.session_id)


def frame(message: dict[str, Any]) -> bytes:
    return text_frame(wire_json.dumps(message).encode())


class PlainClients:
    def __init__(self, backlog: Backlog | None = None) -> None:
        self.rooms: defaultdict[str, set[PlainClient]] = defaultdict(set)
        self.backlog = backlog  # given to each client as it connects (handlers/plain_ws.py)

    def add(self, client: PlainClient) -> None:
        for room in client.rooms:
            self.rooms[room].add(client)

    def remove(self, client: PlainClient) -> None:
        for room in client.rooms:
            members = self.rooms.get(room)
            if members is not None:
                members.discard(client)
                if not members:
                    del self.rooms[room]

    def join(self, client: PlainClient, room: str) -> None:
        """Put a client in a room besides its own (a symbol it subscribed to)."""
        self.rooms[room].add(client)

    def leave(self, client: PlainClient, room: str) -> None:
        members = self.rooms.get(room)
        if members is not None:
            members.discard(client)
            if not members:
                del self.rooms[room]

    def deliver(self, room: str | list[str] | None, event: str, data: Any) -> int:
        """Send an event to this process's plain clients in a room (or in any of a list
        of rooms, once each); return how many."""
        return self.deliver_many(room, [(event, data)])

    def deliver_many(self, room: str | list[str] | None, events: list[tuple[str, Any]]) -> int:
        """Send events, in order, to this process's plain clients in a room: each client
        gets them in one write (a relaying client, all of them in one call)."""
        if isinstance(room, list):
            members = set().union(*(self.rooms.get(r, ()) for r in room)) if room else None
        else:
            members = self.rooms.get(room) if room is not None else None
        if not members:
            return 0
        encoded: bytes | None = None
        for client in list(members):
            if client.relay is not None:
                client.relay(events)
                continue
            if encoded is None:
                encoded = b"".join(frame(event_message(event, data)) for event, data in events)
            client.write(encoded)
        return len(members)

    def in_session(self, session_id: str) -> list[PlainClient]:
        return list(self.rooms.get(session_room(session_id), ()))

    def of_user(self, user_id: str) -> int:
        """How many of a user's /ws connections are open in this process."""
        return len(self.rooms.get(user_room(user_id), ()))
