"""The Socket.IO server, rooms, and the one mapping from errors to acks."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import engineio
import socketio
from aiohttp import web
from engineio.async_drivers import aiohttp as aiohttp_driver

from config.settings import Settings
from handlers import wire_json
from handlers.errors import UNAVAILABLE, error_ack, to_wire
from handlers.frames import WEBSOCKET, Backlog, PendingQueue, send_local
from handlers.plain_clients import PlainClients
from handlers.rooms import user_room
from services.auth import AuthService
from services.limits import Limits
from services.principal import Principal
from trading.errors import (
    AuthenticationRequired,
    InvalidInput,
    InvalidJSON,
    LimitExceeded,
    PaperDeskError,
    Unavailable,
)
from trading.events import UserEventsStored

log = logging.getLogger(__name__)

Ack = dict[str, Any]
SocketHandler = Callable[[str, Any], Awaitable[dict[str, Any]]]
# What answers "unavailable" rather than "internal_error": the database or Redis is down.


# -- JSON on the wire ------------------------------------------------------------

class Refused:
    """The payload of a Socket.IO packet that could not be taken (JSON that
    handlers/wire_json.py refuses, or an event that is not [name, ...]): the event's
    handler answers with its error instead of running."""

    __slots__ = ("error",)

    def __init__(self, error: PaperDeskError) -> None:
        self.error = error


class RefusedJSON(ValueError):
    """wire_json's InvalidJSON as the ValueError that Engine.IO expects of a JSON module."""

    def __init__(self, error: InvalidJSON) -> None:
        super().__init__(error.message)
        self.error = error


class PacketJSON:
    """The JSON module of Socket.IO and Engine.IO packets: handlers/wire_json.py."""

    @staticmethod
    def loads(text: str | bytes) -> Any:
        try:
            return wire_json.loads(text)
        except InvalidJSON as error:
            raise RefusedJSON(error) from None

    @staticmethod
    def dumps(value: Any, **options: Any) -> str:
        return wire_json.dumps(value, **options)


# A packet's text: type, attachment count, namespace and ack id, then its JSON.
_HEADER = re.compile(r"\d(?:(\d{1,10})-)?(?:/[^,]*,)?\d*")
# The event name at the start of an event's JSON: ["name", ...
_LEADING_NAME = re.compile(r'\[\s*("(?:[^"\\\x00-\x1f]|\\.){0,200}")\s*[,\]]')


def _leading_name(text: str) -> str:
    """The event name a refused event's JSON starts with, or "" (no command has that name)."""
    match = _LEADING_NAME.match(text)
    if match is None:
        return ""
    try:
        name = wire_json.loads(match.group(1))
    except InvalidJSON:
        return ""
    return name if isinstance(name, str) else ""


class WirePacket(socketio.packet.Packet):  # type: ignore[misc]
    """Socket.IO packets whose JSON is read by handlers/wire_json.py.

    python-socketio drops a packet whose JSON does not parse (logging the error,
    answering nothing), so a client calling with an ack would wait forever.
    Here an event whose JSON is refused becomes [name, Refused(error)], the name
    taken from the start of its JSON when it is there ("" otherwise), and its
    handler (or the catch-all) answers the ack with the error.
    """

    json = PacketJSON
    # Everything this server sends is JSON: no packet is scanned for bytes to attach.
    uses_binary_events = False

    def decode(self, encoded_packet: str | bytes) -> int:
        try:
            return int(super().decode(encoded_packet))
        except RefusedJSON as refused:
            # decode had read the type, namespace and id: only the JSON failed.
            text = encoded_packet if isinstance(encoded_packet, str) else ""
            header = _HEADER.match(text)
            count = int(header.group(1) or 0) if header else 0
            data: Any = Refused(refused.error)
            if self.packet_type in (socketio.packet.EVENT, socketio.packet.BINARY_EVENT):
                self.data = [_leading_name(text[header.end():]) if header else "", data]
            elif self.packet_type in (socketio.packet.ACK, socketio.packet.BINARY_ACK):
                self.data = [data]
            else:
                self.data = data
            return count


# -- the servers -----------------------------------------------------------------

class EngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """Engine.IO, with every packet it sends checked against the Backlog."""

    backlog: Backlog | None = None
    sio: socketio.AsyncServer | None = None

    def create_queue(self, *args: Any, **kwargs: Any) -> asyncio.Queue[Any]:
        return PendingQueue(*args, **kwargs)

    async def send_packet(self, sid: str, pkt: Any) -> None:
        await super().send_packet(sid, pkt)
        if self.backlog is not None and self.sio is not None:
            self.backlog.check_socket(self.sio, sid)


class SocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server with PaperDesk's packets, backlog and event checks."""

    def __init__(self, backlog: Backlog, **options: Any) -> None:
        super().__init__(serializer=WirePacket, json=PacketJSON, **options)
        self.backlog = backlog
        self.eio.backlog, self.eio.sio = backlog, self

    def _engineio_server_class(self) -> type[EngineServer]:
        return EngineServer

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except ValueError as error:  # what python-socketio raises for a malformed packet
            log.debug("ignored a malformed Socket.IO packet from %s: %s", eio_sid, error)

    async def refuse(self, sid: str, data: dict[str, Any]) -> None:
        """Refuse a socket that is connected, as a connect is refused: its client's
        connect_error fires with data, then its connection closes (after what was
        queued for it before)."""
        eio_sid = self.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is None:
            return  # gone already
        await self._send_packet(eio_sid, self.packet_class(
            socketio.packet.CONNECT_ERROR, data=data, namespace="/"))
        await self.eio.disconnect(eio_sid)

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None,
                            data: Any) -> None:
        """Every event is [name, ...] with a name that is not a reserved one, or it is
        answered by the catch-all with an error."""
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            data = ["", Refused(InvalidInput("An event is a JSON array: [name, payload]."))]
        elif data[0] in self.reserved_events:
            data = ["", Refused(InvalidInput(f"No command {data[0]!r}.", field="type"))]
        await super()._handle_event(eio_sid, namespace, id, data)


class UncompressedWebSocket(aiohttp_driver.WebSocket):  # type: ignore[misc]
    """Engine.IO's aiohttp WebSocket, without permessage-deflate, and findable.

    Browsers and aiohttp clients offer deflate, and aiohttp would then compress
    every message for every client separately: on the price fan-out that is
    one zlib pass per client per update, for messages of a few hundred bytes.
    The response is noted in the connection's environ so the price fan-out
    can write shared frames to it (handlers/frames.py: send_local).
    """

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(max_msg_size=self.server.max_http_buffer_size,
                                           compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        environ[WEBSOCKET] = self._sock
        try:
            await self.handler(self)
        finally:
            environ.pop(WEBSOCKET, None)
        return self._sock


class LocalManager(socketio.AsyncManager):  # type: ignore[misc]
    """One process's rooms; room emits also reach the plain-WebSocket clients."""

    def __init__(self, plain: PlainClients) -> None:
        super().__init__()
        self.plain = plain

    async def emit(self, event: str, data: Any, namespace: str | None = None,
                   room: str | None = None, skip_sid: Any = None, callback: Any = None,
                   to: str | None = None, **kwargs: Any) -> None:
        await super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid,
                           callback=callback, to=to, **kwargs)
        self.plain.deliver(to or room, event, data)

    async def emit_many(self, room: str, events: list[tuple[str, Any]]) -> None:
        """Emit events to a room in order; each socket gets them in one write."""
        send_local(self.server, room, events)
        self.plain.deliver_many(room, events)


class RedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager, closing the clients it replaces, and handing
    every room emit that arrives here to the plain-WebSocket clients too.

    It (re)connects by building a new client, and its listener does so on start even
    when an emit already built one: the old client is dropped with its connections
    open. Here each replaced client is closed.
    """

    def __init__(self, url: str, channel: str, plain: PlainClients) -> None:
        super().__init__(url, channel=channel)
        self.plain = plain
        self._closing: set[asyncio.Task[None]] = set()

    async def emit_many(self, room: str, events: list[tuple[str, Any]]) -> None:
        """Emit events to a room in order, through Redis, so every process's sockets
        in the room get them."""
        for event, data in events:
            await self.emit(event, data, namespace="/", room=room)

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        """An emit of this process or, through Redis, of another one."""
        await super()._handle_emit(message)
        data = message["data"]
        if isinstance(data, list) and len(data) == 1 and not message.get("binary"):
            self.plain.deliver(message.get("room"), message["event"], data[0])

    def _redis_connect(self) -> None:
        old = self.redis
        super()._redis_connect()
        if old is not None:
            task = asyncio.get_running_loop().create_task(old.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """Stop listening and close the connections (the base class has no close)."""
        thread = getattr(self, "thread", None)
        if isinstance(thread, asyncio.Task):
            thread.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await thread
        if self._closing:
            await asyncio.wait(self._closing)
        if self.pubsub is not None:
            await self.pubsub.aclose()
        if self.redis is not None:
            await self.redis.aclose()


def create_sio(settings: Settings) -> SocketServer:
    """Build the Socket.IO server: Redis-backed when REDIS_URL is set.

    Its packets are read by handlers/wire_json.py. python-socketio's json option
    sets the JSON module of the packet class (WirePacket, ours) and of Engine.IO's
    packets, a class shared by every Engine.IO server and client in the process;
    Engine.IO takes a refused text as a plain string, as it does any non-JSON.
    """
    backlog = Backlog(settings.market.slow_client_packets, settings.market.slow_client_bytes)
    plain = PlainClients(backlog)
    manager = (RedisManager(settings.redis_url, f"{settings.redis_namespace}:socketio", plain)
               if settings.redis_url else LocalManager(plain))
    sio = SocketServer(
        backlog, async_mode="aiohttp", client_manager=manager,
        cors_allowed_origins=allowed_origins(settings.cors_origins),
        max_http_buffer_size=settings.socket_max_message_bytes,
        logger=False, engineio_logger=False)
    # This server's own copy of the driver table, with the WebSocket swapped.
    sio.eio._async = {**sio.eio._async, "websocket": UncompressedWebSocket}
    return sio


def start_manager(sio: socketio.AsyncServer) -> None:
    if not sio.manager_initialized:
        sio.manager_initialized = True
        sio.manager.initialize()


async def close_manager(sio: socketio.AsyncServer) -> None:
    if isinstance(sio.manager, RedisManager):
        await sio.manager.aclose()


def allowed_origins(configured: tuple[str, ...]) -> str | list[str] | None:
    """Translate CORS_ORIGINS for Socket.IO; None means same-origin only.

    Clients that send no Origin header (Node, Python, curl, mobile) are allowed
    either way: the token, not the origin, is what authenticates them.
    """
    if "*" in configured:
        return "*"
    return list(configured) or None


def open_sockets(sio: socketio.AsyncServer, user_id: str) -> int:
    """A user's open Socket.IO and /ws connections in this process."""
    sockets = len(sio.manager.rooms.get("/", {}).get(user_room(user_id), ()))
    return sockets + int(sio.manager.plain.of_user(user_id))


def socket_cap(sio: socketio.AsyncServer, user_id: str, cap: int) -> LimitExceeded | None:
    """The refusal of one more connection for a user who has cap open already in this
    process (MAX_SOCKETS_PER_USER; 0 is no cap), or None.

    The caller adds the connection with no await in between, so that no other
    connection of the user can slip in while it is counted.
    """
    if cap <= 0 or open_sockets(sio, user_id) < cap:
        return None
    return LimitExceeded(f"At most {cap} open socket connections per user: close one "
                         "first.", limit=cap)


async def admit(auth: AuthService, sio: socketio.AsyncServer, token: str | None,
                cap: int) -> Principal:
    """Let a Socket.IO or /ws connection in: its token, its session, its user's cap
    of open sockets. The caller adds the connection with no await after this
    returns (see socket_cap). Raises the refusal to send the client."""
    if token is None:
        raise AuthenticationRequired("Connect with a token: Socket.IO auth: {token}, "
                                     "or /ws {type: \"auth\", data: {token}}.")
    try:
        principal = await auth.authenticate(token)
    except UNAVAILABLE:
        raise Unavailable("The server is not ready; try again.") from None
    full = socket_cap(sio, principal.user_id, cap)
    if full is not None:
        raise full
    return principal


async def count_message(limits: Limits, connection: str, bucket: str) -> None:
    """Count one socket message against its connection's limit, then its user's (or
    API key's: Principal.bucket) budget over all of their connections; raise
    RateLimited past either."""
    if limits.per_socket is not None:
        limits.per_socket.check(connection)
    if limits.per_socket_user is not None:
        await limits.per_socket_user.hit(bucket)


async def answer(name: str, call: Awaitable[dict[str, Any]]) -> Ack:
    """{"ok": true, ...result} for a handler's result, or the error ack of what it raised."""
    try:
        result = await call
    except Exception as exc:
        return error_ack(to_wire(exc, f"socket event {name}"))
    return {"ok": True, **result}


Gate = Callable[[str], Awaitable[None]]


def acked(handler: SocketHandler, gate: Gate | None = None) -> Callable[..., Awaitable[Ack]]:
    """Turn a handler's result into {"ok": true, ...} and errors into error acks.

    gate(sid), when given, runs first for every message (the rate limits); then a
    refused payload (Refused) or more than one payload is answered with an error,
    and anything else goes to the handler.
    """
    async def run(sid: str, args: tuple[Any, ...]) -> dict[str, Any]:
        if gate is not None:
            await gate(sid)
        if len(args) > 1:
            raise InvalidInput("Send one payload object per event.")
        data = args[0] if args else None
        if isinstance(data, Refused):
            raise data.error
        return await handler(sid, data)

    @functools.wraps(handler)
    async def wrapper(sid: str, *args: Any) -> Ack:
        return await answer(handler.__name__, run(sid, args))
    return wrapper


class UserPush:
    """Sends to a user's open sockets (Socket.IO and /ws, in every process): the
    user's stored events, in order, and notifications."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def events(self, message: UserEventsStored) -> None:
        """Alone, a socket gets a batch's events in one write (emit_many)."""
        first = message.last_seq - len(message.events) + 1
        await self.sio.manager.emit_many(user_room(message.user_id), [
            (kind, {"seq": seq, **data}) for seq, (kind, data) in enumerate(message.events,
                                                                            first)])

    async def __call__(self, user_id: str, event: str, data: dict[str, object]) -> None:
        await self.sio.emit(event, data, room=user_room(user_id))
