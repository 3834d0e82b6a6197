"""Socket.IO: authenticate at connect, per-user rooms, and commands with acks."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import socketio
from aiohttp import web

from handlers import commands, keys
from handlers.common import auth_object_token, header_token
from handlers.rooms import session_room, user_room
from handlers.socket_server import Refused, acked, admit, count_message
from handlers.validation import payload, string
from services.auth import AuthService
from services.principal import Principal
from trading.errors import (
    Forbidden,
    InvalidInput,
    PaperDeskError,
)
from trading.market import validate_symbols

log = logging.getLogger(__name__)


def refusal(error: PaperDeskError) -> socketio.exceptions.ConnectionRefusedError:
    """A refused connect: the client's connect_error carries the error object."""
    return socketio.exceptions.ConnectionRefusedError(error.message, error.to_dict())


def connect_token(auth: Any, environ: dict[str, Any]) -> str | None:
    """Take the token from the handshake's auth object ({token} or {key_id, secret}),
    else from its headers (Authorization, or the API key pair)."""
    if isinstance(auth, dict) and (token := auth_object_token(auth)) is not None:
        return token
    return header_token({name: environ[variable] for name, variable in _HEADERS.items()
                         if variable in environ})


# The request headers a handshake may carry its token in, as WSGI environ names them.
_HEADERS = {"Authorization": "HTTP_AUTHORIZATION", "APCA-API-KEY-ID": "HTTP_APCA_API_KEY_ID",
            "APCA-API-SECRET-KEY": "HTTP_APCA_API_SECRET_KEY"}


class SocketGateway:
    """Registers the socket events; services are read from the app when used."""

    def __init__(self, app: web.Application, sio: socketio.AsyncServer) -> None:
        self.app = app
        self.sio = sio
        self._tasks: set[asyncio.Task[None]] = set()
        sio.on("connect", self.connect)
        sio.on("disconnect", self.disconnect)
        for name, command in commands.COMMANDS.items():
            sio.on(name, acked(commands.bind(app, command, self.principal), self.meter))
        for handler in (self.join, self.subscribe, self.unsubscribe):
            sio.on(handler.__name__, acked(handler, self.meter))
        sio.on("*", self.unknown)

    async def meter(self, sid: str) -> None:
        """Count every message against the connection's limit and its user's budget."""
        await count_message(self.app[keys.LIMITS], sid, (await self.principal(sid)).bucket)

    async def unknown(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        """Any other event, counted like the rest: its refused payload's error (an
        event whose JSON was refused before its name was read is named ""), else
        "no such command"."""
        async def no_command(sid: str, data: Any) -> dict[str, Any]:
            raise InvalidInput(f"No command {event[:40]!r}.", field="type")
        return await acked(no_command, self.meter)(sid, *args)

    @property
    def auth(self) -> AuthService:
        return self.app[keys.AUTH]

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            if isinstance(auth, Refused):
                raise auth.error
            principal = await admit(self.auth, self.sio, connect_token(auth, environ),
                                    self.app[keys.SETTINGS].limits.sockets_per_user)
        except PaperDeskError as error:
            raise refusal(error) from None
        # Joined with no await after admit counted it (socket_cap).
        self.sio.manager.basic_enter_room(sid, "/", user_room(principal.user_id))
        await self.sio.save_session(sid, dataclasses.asdict(principal))
        await self.sio.enter_room(sid, session_room(principal.session_id))

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        self.app[keys.STREAMER].forget(sid)

    async def principal(self, sid: str) -> Principal:
        return Principal(**await self.sio.get_session(sid))

    async def join(self, sid: str, data: Any) -> dict[str, Any]:
        """Accept the legacy join event only with a valid token of this socket's user.

        Any user_id in the payload is ignored: the room comes from the token.
        """
        token = string(payload(data), "token", max_chars=4096)
        principal = await self.auth.authenticate(token)
        if principal.user_id != (await self.principal(sid)).user_id:
            raise Forbidden("The token belongs to another user than this connection.")
        return {"room": user_room(principal.user_id)}

    async def subscribe(self, sid: str, data: Any) -> dict[str, Any]:
        """Start live prices for symbols; the ack lists all subscribed and their quotes now."""
        market, streamer = self.app[keys.MARKET], self.app[keys.STREAMER]
        symbols = validate_symbols(market.universe, payload(data).get("symbols"),
                                   streamer.limit)
        subscribed = await streamer.subscribe(sid, symbols)
        return {"symbols": sorted(subscribed),
                "quotes": [market.hub.view(symbol) for symbol in symbols]}

    async def unsubscribe(self, sid: str, data: Any) -> dict[str, Any]:
        market, streamer = self.app[keys.MARKET], self.app[keys.STREAMER]
        symbols = validate_symbols(market.universe, payload(data).get("symbols"),
                                   len(market.universe))
        return {"symbols": sorted(await streamer.unsubscribe(sid, symbols))}

    def drop_sessions(self, session_ids: list[str]) -> None:
        """Disconnect this process's sockets of sessions that were revoked."""
        for session_id in session_ids:
            room = session_room(session_id)
            for sid, _ in list(self.sio.manager.get_participants("/", room)):
                task = asyncio.create_task(self._drop(sid))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _drop(self, sid: str) -> None:
        await self.sio.emit("session_revoked", {"reason": "session ended"}, to=sid)
        await self.sio.disconnect(sid)
