"""/ws: the Socket.IO commands and events over a plain WebSocket, as JSON messages.

For clients without a Socket.IO library. Authenticate with an
`Authorization: Bearer` header on the upgrade request, or with a first message
`{"type": "auth", "id": 1, "data": {"token": "..."}}`. Then send
`{"type": <command>, "id": <anything>, "data": {...}}` and receive
`{"type": "ack", "id": <the same>, "ok": true, ...}` or
`{"type": "ack", "id": ..., "ok": false, "error": {code, message}}`. Events
arrive as `{"type": "trade_update", "seq": ..., ...}`. The commands, their
validation and their answers are the Socket.IO ones (handlers/commands.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from handlers import commands
from handlers.common import bearer_token
from handlers.validation import payload, string
from server import keys
from server.auth import Principal
from server.plain import PlainClient
from server.sockets import acked, allowed_origins
from trading.errors import (
    AuthenticationRequired,
    Forbidden,
    InvalidInput,
    PaperDeskError,
)
from trading.market import validate_symbols

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

AUTH_WITHIN = 10.0  # seconds to send the auth message when no header carried a token


class Session:
    """One /ws connection: its client, and the commands it may run."""

    def __init__(self, app: web.Application, client: PlainClient) -> None:
        self.app, self.client = app, client
        self.handlers = {name: acked(commands.bind(app, command, self.principal))
                         for name, command in commands.COMMANDS.items()}
        self.handlers["subscribe"] = acked(self.subscribe)
        self.handlers["unsubscribe"] = acked(self.unsubscribe)

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
        """Answer one message with an ack carrying its id."""
        message_id: Any = None
        try:
            message = json.loads(text)
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                raise InvalidInput("Send a JSON object: {type, id, data}.")
            message_id = message.get("id")
            handler = self.handlers.get(message["type"])
            if handler is None:
                raise InvalidInput(f"No command {message['type'][:40]!r}.", field="type")
            if (limit := self.app[keys.LIMITS].per_socket) is not None:
                limit.check(self.client.id)
            ack = await handler(self.client.id, message.get("data"))
        except json.JSONDecodeError:
            ack = {"ok": False, "error": InvalidInput("Messages must be JSON.").to_dict()}
        except PaperDeskError as error:
            ack = {"ok": False, "error": error.to_dict()}
        self.client.send({"type": "ack", "id": message_id, **ack})


async def _authenticate(request: web.Request, ws: web.WebSocketResponse) -> Principal:
    """The token of the upgrade request's header, or of the first message."""
    auth = request.app[keys.AUTH]
    token = bearer_token(request.headers.get("Authorization", ""))
    if token is not None:
        return await auth.authenticate(token)
    try:
        first = await ws.receive(timeout=AUTH_WITHIN)
    except TimeoutError:
        raise AuthenticationRequired("Send {type: \"auth\", data: {token}} first.") from None
    if first.type != WSMsgType.TEXT:
        raise AuthenticationRequired("Send {type: \"auth\", data: {token}} first.")
    try:
        message = json.loads(first.data)
    except json.JSONDecodeError:
        raise InvalidInput("Messages must be JSON.") from None
    if not isinstance(message, dict) or message.get("type") != "auth":
        raise AuthenticationRequired("Send {type: \"auth\", data: {token}} first.")
    principal = await auth.authenticate(string(payload(message.get("data")), "token",
                                               max_chars=4096))
    await ws.send_json({"type": "ack", "id": message.get("id"), "ok": True,
                        "user_id": principal.user_id})
    return principal


def _origin_allowed(request: web.Request) -> bool:
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
    if not _origin_allowed(request):
        raise Forbidden("This origin may not connect.")
    settings = request.app[keys.SETTINGS]
    ws = web.WebSocketResponse(heartbeat=25.0, compress=False,
                               max_msg_size=settings.socket_max_message_bytes)
    await ws.prepare(request)
    try:
        principal = await _authenticate(request, ws)
    except PaperDeskError as error:
        await ws.send_json({"type": "error", "error": error.to_dict()})
        await ws.close(code=4401, message=error.code.encode())
        return ws
    transport = request.transport
    if transport is None:
        return ws
    client = PlainClient(ws, transport, principal)
    plain, streamer = request.app[keys.SIO].manager.plain, request.app[keys.STREAMER]
    plain.add(client)
    session = Session(request.app, client)
    try:
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
            task = asyncio.create_task(client.ws.close(code=4401, message=b"session_revoked"))
            _closing.add(task)
            task.add_done_callback(_closing.discard)


_closing: set[asyncio.Task[Any]] = set()
