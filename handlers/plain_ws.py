"""/ws: the Socket.IO commands and events over a plain WebSocket, as JSON messages.

For clients without a Socket.IO library. Authenticate with an
`Authorization: Bearer` header (an access token or an API key's token) or the
API key header pair on the upgrade request, or with a first message
`{"type": "auth", "id": 1, "data": {"token": "..."}}` (or `{key_id, secret}`). Then send
`{"type": <command>, "id": <anything>, "data": {...}}` and receive
`{"type": "ack", "id": <the same>, "ok": true, ...}` or
`{"type": "ack", "id": ..., "ok": false, "error": {code, message}}`. Events
arrive as `{"type": "trade_update", "seq": ..., ...}`. The commands, their
validation and their answers are the Socket.IO ones (handlers/commands.py).

Messages are read by handlers/wire_json.py: one it refuses is answered with an
invalid_json ack (with its id when the id comes first, or right after the type).
Every message, whatever it holds, counts against the connection's limit and the
user's budget over all of their sockets. A user with MAX_SOCKETS_PER_USER sockets
open in this process gets an error message and close code 4429.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from aiohttp import WSMsgType, web

from handlers import commands, keys, wire_json
from handlers.common import auth_object_token, header_token
from handlers.plain_clients import PlainClient
from handlers.socket_server import admit, allowed_origins, answer, count_message
from handlers.validation import payload, string
from services.principal import Principal
from trading.errors import (
    AuthenticationRequired,
    Forbidden,
    InvalidInput,
    InvalidJSON,
    LimitExceeded,
    PaperDeskError,
    Unavailable,
)
from trading.market import validate_symbols

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

AUTH_WITHIN = 10.0  # seconds to send the auth message when no header carried a token
# Close codes: the token was refused, the user has too many connections open, or the
# database is not answering.
CLOSE_UNAUTHORIZED, CLOSE_LIMIT, CLOSE_UNAVAILABLE = 4401, 4429, 1013
CLOSE_CODES = {LimitExceeded: CLOSE_LIMIT, Unavailable: CLOSE_UNAVAILABLE}
# The id of a message refused as JSON, when it comes first or right after the type.
_LEADING_ID = re.compile(r'\s*\{\s*(?:"type"\s*:\s*"(?:[^"\\\x00-\x1f]|\\.){0,200}"\s*,\s*)?'
                         r'"id"\s*:\s*(-?\d{1,20}|"(?:[^"\\\x00-\x1f]|\\.){0,200}")\s*[,}]')


def leading_id(text: str) -> Any:
    """The id of a message whose JSON was refused, if it can be read, else None."""
    match = _LEADING_ID.match(text)
    if match is None:
        return None
    try:
        return wire_json.loads(match.group(1))
    except InvalidJSON:
        return None


class Session:
    """One /ws connection: its client, and the commands it may run."""

    def __init__(self, app: web.Application, client: PlainClient) -> None:
        self.app, self.client = app, client
        self.handlers: dict[str, commands.Handler] = {
            name: commands.bind(app, command, self.principal)
            for name, command in commands.COMMANDS.items()}
        self.handlers["subscribe"] = self.subscribe
        self.handlers["unsubscribe"] = self.unsubscribe

    async def principal(self, client_id: str) -> Principal:
        return self.client.principal

    async def subscribe(self, client_id: str, data: Any) -> dict[str, Any]:
        market, streamer = self.app[keys.MARKET], self.app[keys.STREAMER]
        symbols = validate_symbols(market.universe, payload(data).get("symbols"),
                                   streamer.limit)
        subscribed = streamer.subscribe_plain(self.client, symbols)
        return {"symbols": sorted(subscribed),
                "quotes": [market.hub.view(symbol) for symbol in symbols]}

    async def unsubscribe(self, client_id: str, data: Any) -> dict[str, Any]:
        market = self.app[keys.MARKET]
        symbols = validate_symbols(market.universe, payload(data).get("symbols"),
                                   len(market.universe))
        return {"symbols": sorted(self.app[keys.STREAMER].unsubscribe_plain(self.client,
                                                                            symbols))}

    async def handle(self, text: str) -> None:
        """Answer one message with an ack carrying its id (when it can be read).

        Every message counts against the connection's limit and the user's
        budget, whatever it holds.
        """
        refused: InvalidJSON | None = None
        try:
            message = wire_json.loads(text)
        except InvalidJSON as error:
            message, refused = None, error
        message_id = (message.get("id") if isinstance(message, dict)
                      else leading_id(text) if refused is not None else None)
        name = message.get("type") if isinstance(message, dict) else None
        ack = await answer(str(name)[:40] if name is not None else "/ws message",
                           self.run(message, refused))
        self.client.send({"type": "ack", "id": message_id, **ack})

    async def run(self, message: Any, refused: InvalidJSON | None) -> dict[str, Any]:
        await count_message(self.app[keys.LIMITS], self.client.id,
                            self.client.principal.bucket)
        if refused is not None:
            raise refused
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise InvalidInput("Send a JSON object: {type, id, data}.")
        handler = self.handlers.get(message["type"])
        if handler is None:
            raise InvalidInput(f"No command {message['type'][:40]!r}.", field="type")
        return await handler(self.client.id, message.get("data"))


async def _authenticate(request: web.Request, ws: web.WebSocketResponse
                        ) -> tuple[Principal, dict[str, Any] | None]:
    """Admit the token of the upgrade request's header, or of the first message (and
    the ack that message is owed, to send once the connection is added)."""
    app = request.app
    sio, cap = app[keys.SIO], app[keys.SETTINGS].limits.sockets_per_user
    token = header_token(request.headers)
    if token is not None:
        return await admit(app[keys.AUTH], sio, token, cap), None
    try:
        first = await ws.receive(timeout=AUTH_WITHIN)
    except TimeoutError:
        raise AuthenticationRequired("Send {type: \"auth\", data: {token}} first.") from None
    if first.type != WSMsgType.TEXT:
        raise AuthenticationRequired("Send {type: \"auth\", data: {token}} first.")
    message = wire_json.loads(first.data)
    if not isinstance(message, dict) or message.get("type") != "auth":
        raise AuthenticationRequired("Send {type: \"auth\", data: {token}} first.")
    data = payload(message.get("data"))
    token = (string(data, "token", max_chars=4096) if "token" in data
             else auth_object_token(data))
    principal = await admit(app[keys.AUTH], sio, token, cap)
    return principal, {"type": "ack", "id": message.get("id"), "ok": True,
                       "user_id": principal.user_id}


async def _refuse(ws: web.WebSocketResponse, error: PaperDeskError, code: int) -> None:
    """Send the error and close; a client that has gone already is noted at DEBUG only."""
    if not ws.closed:
        try:
            await ws.send_json({"type": "error", "error": error.to_dict()})
            await ws.close(code=code, message=error.code.encode())
            return
        except ConnectionError:
            pass
    log.debug("a /ws connection closed before it was let in (%s)", error.code)


def origin_allowed(request: web.Request) -> bool:
    """Browsers send Origin: only the configured ones (or this host) may connect."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser
    allowed = allowed_origins(request.app[keys.SETTINGS].cors_origins)
    if allowed == "*":
        return True
    if allowed is None:
        return origin.split("://", 1)[-1] == request.host
    return origin in allowed


@routes.get("/ws")
async def plain_websocket(request: web.Request) -> web.WebSocketResponse:
    """Commands and events over a plain WebSocket (see the module docstring)."""
    if not origin_allowed(request):
        raise Forbidden("This origin may not connect.")
    settings = request.app[keys.SETTINGS]
    ws = web.WebSocketResponse(heartbeat=25.0, compress=False,
                               max_msg_size=settings.socket_max_message_bytes)
    await ws.prepare(request)
    try:
        principal, ack = await _authenticate(request, ws)
    except PaperDeskError as error:
        await _refuse(ws, error, CLOSE_CODES.get(type(error), CLOSE_UNAUTHORIZED))
        return ws
    transport = request.transport
    if transport is None or transport.is_closing():
        return ws
    sio, streamer = request.app[keys.SIO], request.app[keys.STREAMER]
    plain = sio.manager.plain
    # Added with no await after admit counted it (see socket_cap).
    client = PlainClient(ws, transport, principal, plain.backlog)
    plain.add(client)
    session = Session(request.app, client)
    try:
        if ack is not None:  # written before any event can be
            await ws.send_json(ack)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await session.handle(message.data)
            elif message.type == WSMsgType.BINARY:
                await session.handle(message.data.decode(errors="replace"))
    finally:
        plain.remove(client)
        streamer.forget_plain(client)
    return ws


def drop_sessions(app: web.Application, session_ids: list[str]) -> None:
    """Close this process's /ws connections of sessions that were revoked."""
    plain = app[keys.SIO].manager.plain
    for session_id in session_ids:
        for client in plain.in_session(session_id):
            client.send({"type": "session_revoked", "reason": "session ended"})
            task = asyncio.create_task(client.ws.close(code=CLOSE_UNAUTHORIZED,
                                                       message=b"session_revoked"))
            _closing.add(task)
            task.add_done_callback(_closing.discard)


_closing: set[asyncio.Task[Any]] = set()
