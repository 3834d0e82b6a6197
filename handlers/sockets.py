"""Socket.IO: authenticate at connect (or by join within JOIN_WITHIN), per-user rooms,
and commands with acks."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Coroutine
from typing import Any

import socketio
from aiohttp import web

from handlers import commands, keys
from handlers.common import auth_object_token, ended, header_token
from handlers.rooms import session_room, user_room
from handlers.socket_server import Refused, SocketServer, acked, admit, count_message
from handlers.validation import payload, string
from services.auth import AuthService
from services.principal import Principal
from trading.errors import (
    AuthenticationRequired,
    Forbidden,
    InvalidInput,
    PaperDeskError,
)
from trading.market import validate_symbols

log = logging.getLogger(__name__)

# Where a refused client is sent to read how to connect (in its connect_error's data).
DOCS = "docs/API.md#socketio"
# Seconds a socket that connected without a token has to send join {token}; until
# then it may send nothing else and is in no room (as /ws waits for its auth message).
JOIN_WITHIN = 10.0
# Sockets that may wait for their join at once (each holds a connection, no user's);
# past this, one that brings no token is refused at once.
MAX_WAITING = 1000


def how_to_connect() -> AuthenticationRequired:
    """The refusal of a socket that brought no token, saying how to bring one."""
    return AuthenticationRequired(
        'Connect with an access token: io(url, {auth: {token: "<access token from POST '
        '/api/v1/auth/login>"}}) (python-socketio: connect(url, auth={"token": ...})), '
        f"or send join {{token}} first, within {JOIN_WITHIN:g} s of connecting. "
        f"See {DOCS}.")


def refusal(error: PaperDeskError) -> socketio.exceptions.ConnectionRefusedError:
    """A refused connect: the client's connect_error carries the error object (code,
    message, details?) and where the docs are."""
    return socketio.exceptions.ConnectionRefusedError(error.message,
                                                      {**error.to_dict(), "docs": DOCS})


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


def brought_no_token(auth: Any, environ: dict[str, Any]) -> bool:
    """No token or key at all (not a malformed one): the client may still join with one."""
    return (auth is None or (isinstance(auth, dict)
                             and not {"token", "key_id", "secret"} & auth.keys())) and \
        not any(variable in environ for variable in _HEADERS.values())


class SocketGateway:
    """Registers the socket events; services are read from the app when used."""

    def __init__(self, app: web.Application, sio: SocketServer) -> None:
        self.app = app
        self.sio = sio
        self._tasks: set[asyncio.Task[None]] = set()
        # Sockets that connected without a token, each with the end of its time to join.
        self._waiting: dict[str, asyncio.TimerHandle] = {}
        sio.on("connect", self.connect)
        sio.on("disconnect", self.disconnect)
        for name, command in commands.COMMANDS.items():
            sio.on(name, acked(commands.bind(app, command, self.principal), self.meter))
        sio.on("join", acked(self.join, self.meter_join))
        for handler in (self.subscribe, self.unsubscribe):
            sio.on(handler.__name__, acked(handler, self.meter))
        sio.on("*", self.unknown)

    async def meter(self, sid: str) -> None:
        """Count every message against the connection's limit and its user's budget
        (a socket that has not joined is refused instead: see principal)."""
        await count_message(self.app[keys.LIMITS], sid, await self.principal(sid))

    async def meter_join(self, sid: str) -> None:
        """A waiting socket's join is its one message; a joined socket's is counted."""
        if sid not in self._waiting:
            await self.meter(sid)

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
        """Let a socket in with its token, or, without one, wait JOIN_WITHIN for join."""
        if brought_no_token(auth, environ):
            if len(self._waiting) >= MAX_WAITING:
                raise refusal(how_to_connect())
            self._waiting[sid] = asyncio.get_running_loop().call_later(
                JOIN_WITHIN, lambda: self._refuse(sid, how_to_connect()))
            return
        try:
            if isinstance(auth, Refused):
                raise auth.error
            principal = await self.admit(connect_token(auth, environ))
        except PaperDeskError as error:
            raise refusal(error) from None
        await self.enter(sid, principal)
        if not await self.auth.still_active(principal):  # revoked while it was admitted
            raise refusal(ended(principal))

    async def admit(self, token: str | None) -> Principal:
        return await admit(self.auth, self.sio, token,
                           self.app[keys.SETTINGS].limits.sockets_per_user)

    async def enter(self, sid: str, principal: Principal) -> None:
        """Put an admitted socket in its user's and session's rooms; call with no await
        since admit counted it (socket_cap)."""
        self.sio.manager.basic_enter_room(sid, "/", user_room(principal.user_id))
        await self.sio.save_session(sid, dataclasses.asdict(principal))
        await self.sio.enter_room(sid, session_room(principal.session_id))

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        if (timer := self._waiting.pop(sid, None)) is not None:
            timer.cancel()
        self.app[keys.STREAMER].forget(sid)

    async def principal(self, sid: str) -> Principal:
        """Who the socket speaks for; a socket that has not joined is refused and
        disconnected (its message answered with how to connect)."""
        session = await self.sio.get_session(sid)
        if "user_id" not in session:
            error = how_to_connect()
            if sid in self._waiting:
                self._refuse(sid, error)
            raise error
        return Principal(**session)

    async def join(self, sid: str, data: Any) -> dict[str, Any]:
        """Let a socket that connected without a token in with {token}; on a socket that
        is in, accept only a valid token of its own user (kept for older clients).

        Any user_id in the payload is ignored: the room comes from the token.
        """
        if (timer := self._waiting.pop(sid, None)) is not None:
            timer.cancel()
            try:
                body = payload(data)
                if body.get("token") is None:  # {user_id}: what older clients sent
                    raise how_to_connect()
                principal = await self.admit(string(body, "token", max_chars=4096))
            except PaperDeskError as error:
                self._refuse(sid, error)
                raise
            if not self.sio.manager.is_connected(sid, "/"):  # it left while admitted
                raise how_to_connect()
            await self.enter(sid, principal)
            if not await self.auth.still_active(principal):  # revoked while it was admitted
                self._refuse(sid, ended(principal))
                raise ended(principal)
            return {"room": user_room(principal.user_id)}
        token = string(payload(data), "token", max_chars=4096)
        principal = await self.auth.authenticate(token)
        if principal.user_id != (await self.principal(sid)).user_id:
            raise Forbidden("The token belongs to another user than this connection.")
        return {"room": user_room(principal.user_id)}

    def _refuse(self, sid: str, error: PaperDeskError) -> None:
        """End a socket that did not join: its connect_error carries error (as a refused
        connect's does), then it is disconnected. Run as a task, so an ack the
        refused message is owed goes first (python-socketio queues it as the handler
        returns)."""
        if (timer := self._waiting.pop(sid, None)) is not None:
            timer.cancel()
        self._spawn(self.sio.refuse(sid, refusal(error).error_args))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
                self._spawn(self._drop(sid))

    async def _drop(self, sid: str) -> None:
        await self.sio.emit("session_revoked", {"reason": "session ended"}, to=sid)
        await self.sio.disconnect(sid)
