"""What Alpaca's two WebSocket protocols share: reading a message (JSON in a text or
binary frame, or MessagePack in a binary one), writing one back in the client's
encoding, and letting a connection in as /ws lets its clients in.

A connection counts against its user's open sockets (MAX_SOCKETS_PER_USER, with
Socket.IO and /ws), its messages against the socket rate limits, and what waits
unsent for it against the one Backlog (handlers/frames.py) that drops a client
that cannot keep up.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import msgpack
from aiohttp import WSMessage, WSMsgType, web

from handlers import keys, wire_json
from handlers.frames import binary_frame, text_frame
from handlers.plain_clients import PlainClient
from handlers.plain_ws import origin_allowed
from handlers.socket_server import admit, count_message
from services.principal import Principal
from trading.errors import Forbidden, InvalidJSON

AUTH_WITHIN = 10.0  # seconds to authenticate after connecting
MAX_DEPTH = 32  # nesting a MessagePack message may have


class Encoding(enum.Enum):
    JSON_TEXT = "json"  # JSON in text frames
    JSON_BINARY = "json-binary"  # JSON in binary frames (Alpaca's trading stream)
    MSGPACK = "msgpack"

    def frame(self, message: Any) -> bytes:
        """A message as one whole frame in this encoding."""
        if self is Encoding.MSGPACK:
            return binary_frame(msgpack.packb(message, datetime=True))
        encoded = json_text(message).encode()
        return text_frame(encoded) if self is Encoding.JSON_TEXT else binary_frame(encoded)


def _rfc3339(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_text(message: Any) -> str:
    """JSON, with times (MessagePack timestamps in the other encoding) in RFC 3339."""
    return wire_json.dumps(message, default=_rfc3339)


async def send(ws: web.WebSocketResponse, encoding: Encoding, message: Any) -> None:
    """Send a message before the connection joined its rooms (none is written to it
    directly yet); a client that has gone is let go."""
    if ws.closed:
        return
    try:
        if encoding is Encoding.JSON_TEXT:
            await ws.send_str(json_text(message))
        elif encoding is Encoding.JSON_BINARY:
            await ws.send_bytes(json_text(message).encode())
        else:
            await ws.send_bytes(msgpack.packb(message, datetime=True))
    except ConnectionError:
        pass


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def decode(message: WSMessage) -> tuple[Any, Encoding]:
    """A message's value and encoding; InvalidJSON when it is not a value in either."""
    if message.type == WSMsgType.TEXT:
        return wire_json.loads(message.data), Encoding.JSON_TEXT
    data: bytes = message.data
    if data[:1].isspace() or data[:1] in (b"{", b"["):
        return wire_json.loads(data), Encoding.JSON_BINARY
    try:
        value = msgpack.unpackb(data, timestamp=3)
    except (ValueError, msgpack.UnpackException, RecursionError, TypeError):
        raise InvalidJSON("Send JSON or MessagePack.") from None
    if _depth(value) > MAX_DEPTH:
        raise InvalidJSON(f"A message may be nested at most {MAX_DEPTH} levels deep.")
    return value, Encoding.MSGPACK


async def open_socket(request: web.Request, max_message: int) -> web.WebSocketResponse:
    """Accept the upgrade (an allowed origin only, as /ws)."""
    if not origin_allowed(request):
        raise Forbidden("This origin may not connect.")
    ws = web.WebSocketResponse(heartbeat=25.0, compress=False, max_msg_size=max_message)
    await ws.prepare(request)
    return ws


async def admit_token(request: web.Request, token: str | None) -> Principal:
    """Who a token speaks for, if their user may open one more socket."""
    app = request.app
    return await admit(app[keys.AUTH], app[keys.SIO], token,
                       app[keys.SETTINGS].limits.sockets_per_user)


def join(request: web.Request, ws: web.WebSocketResponse, principal: Principal,
         relay: Any) -> PlainClient | None:
    """Add an admitted connection (with no await since admit_token) to its user's rooms;
    None if it closed meanwhile."""
    transport = request.transport
    if transport is None or transport.is_closing():
        return None
    plain = request.app[keys.SIO].manager.plain
    client = PlainClient(ws, transport, principal, plain.backlog, relay=relay)
    plain.add(client)
    return client


def leave(request: web.Request, client: PlainClient) -> None:
    request.app[keys.SIO].manager.plain.remove(client)


async def count(request: web.Request, client: PlainClient) -> None:
    """Count one message against the connection's and the user's limits."""
    await count_message(request.app[keys.LIMITS], client.id, client.principal.bucket)
