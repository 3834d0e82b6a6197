"""The Socket.IO server, rooms, and the one mapping from errors to acks."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web
from engineio.async_drivers import aiohttp as aiohttp_driver

from server.config import Settings
from server.frames import WEBSOCKET, send_local
from server.plain import PlainClients
from store.database import DATABASE_DOWN
from trading.errors import InvalidInput, PaperDeskError, Unavailable

log = logging.getLogger(__name__)

Ack = dict[str, Any]
SocketHandler = Callable[[str, Any], Awaitable[dict[str, Any]]]


class UncompressedWebSocket(aiohttp_driver.WebSocket):  # type: ignore[misc]
    """Engine.IO's aiohttp WebSocket, without permessage-deflate, and findable.

    Browsers and aiohttp clients offer deflate, and aiohttp would then compress
    every message for every client separately: on the price fan-out that is
    one zlib pass per client per update, for messages of a few hundred bytes.
    The response is noted in the connection's environ so the price fan-out
    can write shared frames to it (server/frames.py: send_local).
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
        for event, data in events:
            self.plain.deliver(room, event, data)


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


def create_sio(settings: Settings) -> socketio.AsyncServer:
    """Build the Socket.IO server: Redis-backed when REDIS_URL is set."""
    plain = PlainClients()
    manager = (RedisManager(settings.redis_url, f"{settings.redis_namespace}:socketio", plain)
               if settings.redis_url else LocalManager(plain))
    sio = socketio.AsyncServer(
        async_mode="aiohttp", client_manager=manager,
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


def error_ack(error: PaperDeskError) -> Ack:
    return {"ok": False, "error": error.to_dict()}


def acked(handler: SocketHandler) -> Callable[..., Awaitable[Ack]]:
    """Turn a handler's result into {"ok": true, ...} and errors into error acks."""
    @functools.wraps(handler)
    async def wrapper(sid: str, *args: Any) -> Ack:
        try:
            if len(args) > 1:
                raise InvalidInput("Send one payload object per event.")
            result = await handler(sid, args[0] if args else None)
        except PaperDeskError as error:
            return error_ack(error)
        except DATABASE_DOWN:
            log.warning("database unavailable during socket event %s", handler.__name__)
            return error_ack(Unavailable("The database is not answering; try again."))
        except Exception:
            log.exception("unhandled error in socket event %s", handler.__name__)
            return error_ack(PaperDeskError())
        return {"ok": True, **result}
    return wrapper
