"""Socket.IO events encoded once and written as prebuilt WebSocket frames.

python-socketio's room emit hands each packet to each recipient's Engine.IO
queue, and Engine.IO's writer task then sends every packet as a frame of its
own: a task wake-up and a system call per packet per socket. The price
fan-out and a user's events (which reach every socket of the user) are sent
here instead: each event is encoded once, and a socket on WebSocket gets all
of the events sent together in one write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import engineio.packet
import socketio

# Where a connection's WebSocketResponse is kept in its environ (server/sockets.py).
WEBSOCKET = "paperdesk.websocket"


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked WebSocket text frame (RFC 6455), as a server sends it."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


def direct_transport(sio: socketio.AsyncServer, eio_sid: str,
                     socket: Any) -> asyncio.WriteTransport | None:
    """The TCP transport of a socket that is fully on WebSocket, else None."""
    if not socket.upgraded:
        return None  # still polling, or in the middle of the upgrade handshake
    environ = sio.environ.get(eio_sid)
    if environ is None or WEBSOCKET not in environ or environ[WEBSOCKET].closed:
        return None
    transport = environ["aiohttp.request"].transport
    if transport is None or transport.is_closing():
        return None
    return transport  # type: ignore[no-any-return]


def send_local(sio: socketio.AsyncServer, room: str, events: Sequence[tuple[str, Any]]) -> None:
    """Send events, in order, to this process's sockets in a room.

    Each event is encoded once, as python-socketio's room emit would encode it.
    A socket on WebSocket with nothing queued gets them all as prebuilt frames
    in one write (server frames are unmasked, so every recipient gets the same
    bytes). Any other socket gets them queued for Engine.IO's writer, behind
    what is queued already, so a socket's packets never overtake each other.
    Engine.IO's service loop still closes sockets that stop answering pings.
    """
    messages = [engineio.packet.Packet(engineio.packet.MESSAGE, sio.packet_class(
        socketio.packet.EVENT, namespace="/", data=[event, data]).encode())
        for event, data in events]
    frames: bytes | None = None
    sockets = sio.eio.sockets
    for _, eio_sid in sio.manager.get_participants("/", room):
        socket = sockets.get(eio_sid)
        if socket is None or socket.closing or socket.closed:
            continue
        transport = direct_transport(sio, eio_sid, socket) if socket.queue.empty() else None
        if transport is not None:
            if frames is None:
                frames = b"".join(text_frame(m.encode().encode()) for m in messages)
            transport.write(frames)
        else:
            for message in messages:
                socket.queue.put_nowait(message)
