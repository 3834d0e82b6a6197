"""What is written to socket clients: prebuilt frames, and the one bound on every backlog.

python-socketio's room emit hands each packet to each recipient's Engine.IO
queue, and Engine.IO's writer task then sends every packet as a frame of its
own: a task wake-up and a system call per packet per socket. The price
fan-out and a user's events (which reach every socket of the user) are sent
here instead: each event is encoded once, and a socket on WebSocket gets all
of the events sent together in one write.

Whatever the path out (an ack, an emit, a frame written here, a /ws message),
what waits for a client is bounded by one Backlog, checked on every write: a
client with more packets queued, or more bytes unsent, than the limits
(SLOW_CLIENT_PACKETS, SLOW_CLIENT_BYTES) is dropped at once.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Sequence
from typing import Any

import engineio.packet
import socketio

log = logging.getLogger(__name__)

# Where a connection's WebSocketResponse is kept in its environ (handlers/socket_server.py).
WEBSOCKET = "paperdesk.websocket"


def text_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A final, unmasked WebSocket text frame (RFC 6455), as a server sends it (or
    another kind of frame: opcode 0x2 is binary)."""
    size, first = len(payload), 0x80 | opcode
    if size < 126:
        header = bytes((first, size))
    elif size < 1 << 16:
        header = bytes((first, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((first, 127)) + size.to_bytes(8, "big")
    return header + payload


def binary_frame(payload: bytes) -> bytes:
    """A final, unmasked WebSocket binary frame."""
    return text_frame(payload, 0x2)


def _size(item: Any) -> int:
    """The bytes a queued packet is sent as (its type and its data, UTF-8)."""
    data = getattr(item, "data", None)
    if isinstance(data, str):
        return 1 + (len(data) if data.isascii() else len(data.encode()))
    return 1 + len(data) if isinstance(data, bytes) else 1


class PendingQueue(asyncio.Queue[Any]):
    """An Engine.IO socket's send queue that knows how much waits in it.

    Engine.IO's writer takes every queued packet at once (AsyncSocket.poll: one
    get, then get_nowait until empty) and then writes them one by one, waiting
    whenever the connection's buffer is full. Packets it has taken still wait
    for the client, so they count until its next get: by then it has handed
    all of them to the connection, whose write buffer counts them instead.
    """

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self.queued_bytes = 0
        self.taken = 0  # packets taken by the writer and not yet written
        self.taken_bytes = 0

    def put_nowait(self, item: Any) -> None:
        super().put_nowait(item)
        self.queued_bytes += _size(item)

    async def get(self) -> Any:
        self.taken = self.taken_bytes = 0
        return await super().get()

    def get_nowait(self) -> Any:
        item = super().get_nowait()
        size = _size(item)
        self.queued_bytes -= size
        self.taken += 1
        self.taken_bytes += size
        return item

    @property
    def packets(self) -> int:
        return self.qsize() + self.taken

    @property
    def bytes(self) -> int:
        return self.queued_bytes + self.taken_bytes

    def discard(self) -> None:
        """Forget everything queued (the client is being dropped)."""
        while not self.empty():
            super().get_nowait()
            self.task_done()
        self.queued_bytes = self.taken = self.taken_bytes = 0


def socket_transport(sio: socketio.AsyncServer, eio_sid: str,
                     socket: Any) -> asyncio.WriteTransport | None:
    """The TCP connection of a socket that is on WebSocket, else None (polling)."""
    if not socket.upgraded:
        return None  # still polling, or in the middle of the upgrade handshake
    environ = sio.environ.get(eio_sid)
    if environ is None or WEBSOCKET not in environ:
        return None
    return environ["aiohttp.request"].transport  # type: ignore[no-any-return]


def direct_transport(sio: socketio.AsyncServer, eio_sid: str,
                     socket: Any) -> asyncio.WriteTransport | None:
    """The TCP transport of a socket that is fully on WebSocket and open, else None."""
    transport = socket_transport(sio, eio_sid, socket)
    if transport is None or transport.is_closing() or sio.environ[eio_sid][WEBSOCKET].closed:
        return None
    return transport


class Backlog:
    """The one bound on what waits to be sent to a client, and the drop past it.

    It is checked after every write to a client: Engine.IO packets (acks,
    emits, connects; handlers/socket_server.py EngineServer.send_packet), frames
    written by send_local, and /ws messages (handlers/plain_clients.py PlainClient.write).
    What waits is the packets in the socket's Engine.IO queue (and those its
    writer has taken and not yet written) plus the bytes in the connection's
    write buffer. A client over either limit has its TCP connection aborted:
    a polite close would wait behind everything already queued for it.
    """

    def __init__(self, packets: int, size: int) -> None:
        self.packets, self.bytes = packets, size
        self.dropped = 0  # clients dropped, for operators and tests
        self._dropping: weakref.WeakSet[Any] = weakref.WeakSet()
        self._closing: set[asyncio.Task[Any]] = set()

    def over(self, packets: int, size: int) -> bool:
        return packets > self.packets or size > self.bytes

    def socket_backlog(self, sio: socketio.AsyncServer, eio_sid: str) -> tuple[int, int]:
        """Packets and bytes waiting for a Socket.IO client (0, 0 if it is gone)."""
        socket = sio.eio.sockets.get(eio_sid)
        if socket is None:
            return 0, 0
        return self._socket_backlog(sio, eio_sid, socket, socket_transport(sio, eio_sid, socket))

    @staticmethod
    def _socket_backlog(sio: socketio.AsyncServer, eio_sid: str, socket: Any,
                        transport: asyncio.WriteTransport | None) -> tuple[int, int]:
        queue = socket.queue
        if isinstance(queue, PendingQueue):
            packets, size = queue.packets, queue.bytes
        else:
            packets, size = queue.qsize(), 0
        if transport is not None and not transport.is_closing():
            size += transport.get_write_buffer_size()
        return packets, size

    def check_socket(self, sio: socketio.AsyncServer, eio_sid: str, socket: Any = None,
                     transport: asyncio.WriteTransport | None = None) -> bool:
        """After a write to a Socket.IO client: drop it if too much waits for it.

        Returns whether the client is (now) being dropped.
        """
        if socket is None:
            socket = sio.eio.sockets.get(eio_sid)
            if socket is None:
                return False
        if socket in self._dropping:
            return True
        if socket.closed or socket.closing:
            return False
        if transport is None:
            transport = socket_transport(sio, eio_sid, socket)
        packets, size = self._socket_backlog(sio, eio_sid, socket, transport)
        if not self.over(packets, size):
            return False
        self._dropping.add(socket)
        self.dropped += 1
        log.warning("dropped a client that could not keep up: %d packets, %d bytes waiting "
                    "(socket %s)", packets, size, eio_sid)
        if transport is not None:
            transport.abort()
        if isinstance(socket.queue, PendingQueue):
            socket.queue.discard()
        socket.queue.put_nowait(None)  # wakes a writer or a poll waiting for packets
        task = asyncio.get_running_loop().create_task(
            socket.close(wait=False, abort=True, reason=sio.eio.reason.SERVER_DISCONNECT))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        return True

    def check_transport(self, transport: asyncio.WriteTransport, name: str) -> bool:
        """After a write to a connection with no queue of its own (/ws): drop it if
        its write buffer is over the limit. Returns whether it was dropped."""
        if transport.is_closing():
            return False
        size = transport.get_write_buffer_size()
        if not self.over(0, size):
            return False
        self.dropped += 1
        log.warning("dropped a client that could not keep up: %d bytes waiting (%s)",
                    size, name)
        transport.abort()
        return True


def backlog_of(sio: socketio.AsyncServer) -> Backlog | None:
    """The Backlog of a server built by handlers/socket_server.py create_sio (None otherwise)."""
    return getattr(sio.eio, "backlog", None)


def send_local(sio: socketio.AsyncServer, room: str, events: Sequence[tuple[str, Any]]) -> None:
    """Send events, in order, to this process's sockets in a room.

    Each event is encoded once (if anyone here is in the room), as python-socketio's
    room emit would encode it.
    A socket on WebSocket with nothing queued gets them all as prebuilt frames
    in one write (server frames are unmasked, so every recipient gets the same
    bytes). Any other socket gets them queued for Engine.IO's writer, behind
    what is queued already, so a socket's packets never overtake each other.
    Either way the socket's backlog is checked after the write. Engine.IO's
    service loop still closes sockets that stop answering pings.
    """
    messages: list[engineio.packet.Packet] = []
    frames: bytes | None = None
    sockets = sio.eio.sockets
    backlog = backlog_of(sio)
    for _, eio_sid in sio.manager.get_participants("/", room):
        socket = sockets.get(eio_sid)
        if socket is None or socket.closing or socket.closed:
            continue
        messages = messages or [engineio.packet.Packet(engineio.packet.MESSAGE, sio.packet_class(
            socketio.packet.EVENT, namespace="/", data=[event, data]).encode())
            for event, data in events]
        transport = direct_transport(sio, eio_sid, socket) if socket.queue.empty() else None
        if transport is not None:
            if frames is None:
                frames = b"".join(text_frame(m.encode().encode()) for m in messages)
            transport.write(frames)
        else:
            for message in messages:
                socket.queue.put_nowait(message)
        if backlog is not None:
            backlog.check_socket(sio, eio_sid, socket, transport)
