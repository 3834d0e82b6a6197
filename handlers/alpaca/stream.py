"""/stream: Alpaca's trading stream (trade_updates), as alpaca-py's TradingStream speaks it.

The first message authenticates, within 10 seconds:
    {"action": "authenticate", "data": {"key_id": "...", "secret_key": "..."}}
    {"action": "auth", "key": "...", "secret": "..."}
    {"action": "authenticate", "data": {"oauth_token": "<an access token>"}}
and is answered {"stream": "authorization", "data": {"action": "authenticate",
"status": "authorized"}}, or "unauthorized" with a message, and the connection closes
(4401; 4429 past MAX_SOCKETS_PER_USER; 1013 while the database is down). Then
{"action": "listen", "data": {"streams": ["trade_updates"]}} is answered
{"stream": "listening", "data": {"streams": [...the ones that exist]}}, and from
then on every order change of the user comes as
    {"stream": "trade_updates", "data": {"event", "execution_id", "order",
     "timestamp", "position_qty", "price", "qty"}}
with the order as /v2/orders shows it (handlers/alpaca/orders.py alpaca_order). A message it
cannot take is answered {"stream": "error", "data": {"code", "message"}} (the codes
of Alpaca's REST errors, handlers/alpaca/errors.py) and the connection stays open.

Messages are JSON in text or binary frames, or MessagePack; the answers come in the
encoding and frame type of the client's first message.

The updates are the user's order_update events (what Socket.IO and /ws clients get,
by the same path: handlers/plain_clients.py): an order accepted is pending_new,
resting new, then fill, canceled, expired, rejected or replaced (the replaced order;
its replacement comes as new). An order that ends at once (a market order's fill)
is announced new first, as Alpaca does, if it was placed after the listen began. A
fill carries its price, quantity and the position after it (position_qty, negative
when short, from the position_update that comes with it; null when the events
arrive one at a time, through Redis from another process).
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from datetime import datetime
from typing import Any

from aiohttp import WSMessage, WSMsgType, web

from handlers import keys
from handlers.alpaca import wire
from handlers.alpaca.errors import alpaca_body
from handlers.alpaca.orders import alpaca_order
from handlers.alpaca.wire import Encoding
from handlers.errors import to_wire
from handlers.plain_clients import PlainClient
from services.api_keys import pair_token
from trading.errors import (
    AuthenticationRequired,
    Forbidden,
    InvalidApiKey,
    InvalidInput,
    InvalidJSON,
    LimitExceeded,
    PaperDeskError,
    Unavailable,
)

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

STREAMS = frozenset({"trade_updates"})
MAX_STREAMS, MAX_NAME = 10, 64
MAX_TOKEN = 4096
# Orders this connection announced (so an order is announced new once).
MAX_ANNOUNCED = 10_000
# PaperDesk's order statuses as Alpaca's trade update events (a held leg has none).
EVENTS = {"new": "pending_new", "open": "new", "filled": "fill", "canceled": "canceled",
          "rejected": "rejected", "expired": "expired", "replaced": "replaced"}
ENDED = frozenset({"fill", "canceled", "rejected", "expired", "replaced"})
FILLS = uuid.UUID("3a8e6a4e-5f0c-5b7e-9d65-66696c6c7321")  # execution ids: UUID5s of orders
CLOSE_UNAUTHORIZED = 4401
CLOSE_CODES = {LimitExceeded: 4429, Unavailable: 1013}


def authorization(status: str, message: str | None = None) -> dict[str, Any]:
    data = {"action": "authenticate", "status": status}
    return {"stream": "authorization", "data": data if message is None
            else {**data, "message": message}}


def error_message(error: PaperDeskError) -> dict[str, Any]:
    return {"stream": "error", "data": alpaca_body(error)}


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TOKEN:
        raise InvalidApiKey()
    return value


def auth_token(message: Any) -> str:
    """The token of an authenticate message (module docstring), or the refusal."""
    action = message.get("action") if isinstance(message, dict) else None
    if action == "auth":
        return pair_token(_text(message.get("key")), _text(message.get("secret")))
    data = message.get("data") if action == "authenticate" else None
    if not isinstance(data, dict):
        raise AuthenticationRequired("Authenticate first: {\"action\": \"authenticate\", "
                                     "\"data\": {\"key_id\", \"secret_key\"}}.")
    if "oauth_token" in data:
        return _text(data["oauth_token"])
    return pair_token(_text(data.get("key_id")), _text(data.get("secret_key")))


def streams_of(message: dict[str, Any]) -> list[str]:
    data = message.get("data")
    streams = data.get("streams") if isinstance(data, dict) else None
    if not isinstance(streams, list) or len(streams) > MAX_STREAMS or not all(
            isinstance(name, str) and len(name) <= MAX_NAME for name in streams):
        raise InvalidInput(f"Send {{\"action\": \"listen\", \"data\": {{\"streams\": "
                           f"[...]}}}} with at most {MAX_STREAMS} stream names.",
                           field="streams")
    return [name for name in dict.fromkeys(streams) if name in STREAMS]


class TradeStream:
    """One /stream connection after it authenticated."""

    def __init__(self, request: web.Request, encoding: Encoding) -> None:
        self.request, self.encoding = request, encoding
        self.client: PlainClient | None = None
        self.since: datetime | None = None  # when it began listening
        self.announced: OrderedDict[str, None] = OrderedDict()
        self.outbox: list[dict[str, Any]] = []  # the updates of the batch being read

    def write(self, *messages: dict[str, Any]) -> None:
        if self.client is not None:
            self.client.write(b"".join(self.encoding.frame(message) for message in messages))

    async def handle(self, message: WSMessage) -> None:
        """Answer one message; an error is told and the connection kept."""
        if self.client is None:
            return
        try:
            await wire.count(self.request, self.client)
            value, _ = wire.decode(message)
            action = value.get("action") if isinstance(value, dict) else None
            if action == "listen":
                streams = streams_of(value)
                if not streams:
                    self.since = None
                elif self.since is None:  # to the millisecond, as orders' times are
                    now = self.request.app[keys.CLOCK]()
                    self.since = now.replace(microsecond=now.microsecond // 1000 * 1000)
                self.write({"stream": "listening", "data": {"streams": streams}})
            elif action in ("auth", "authenticate"):
                raise Forbidden("Already authenticated.")
            else:
                raise InvalidInput("Send {\"action\": \"listen\", \"data\": {\"streams\": "
                                   "[\"trade_updates\"]}}.", field="action")
        except Exception as exc:
            self.write(error_message(to_wire(exc, "/stream message")))

    # -- events (handlers/plain_clients.py hands them over) --

    def relay(self, events: list[tuple[str, Any]]) -> None:
        """Write the updates of a batch of the user's events (a fill's position_qty is
        the position_update that follows it in the batch)."""
        if self.since is None:
            return
        try:
            for event, data in events:
                if event == "order_update":
                    self.outbox += self.updates(data["order"])
                elif event == "position_update":
                    self.moved(data)
            if self.outbox:
                self.write(*self.outbox)
        except Exception:  # this client's failure must not stop the user's other clients
            log.exception("failed to write trade updates to a /stream client")
        finally:
            self.outbox = []

    def moved(self, data: dict[str, Any]) -> None:
        """Give the batch's fills of the symbol the position after them."""
        row, symbol = data.get("position"), data.get("symbol")
        quantity = "0" if row is None else (
            f"-{row['quantity']}" if row["side"] == "sell" else row["quantity"])
        for message in self.outbox:
            update = message["data"]
            if update["event"] == "fill" and update["order"]["symbol"] == symbol:
                update["position_qty"] = quantity

    def updates(self, view: dict[str, Any]) -> list[dict[str, Any]]:
        event = EVENTS.get(view["status"])
        if event is None:
            return []
        found = []
        order_id = view["id"]
        if event in ENDED and order_id not in self.announced and self.since is not None \
                and datetime.fromisoformat(view["created_at"]) >= self.since:
            found.append(self.update("new", {
                **view, "status": "open", "filled_at": None, "filled_price": None,
                "filled_quantity": None, "canceled_at": None, "replaced_by": None}))
        self.announced[order_id] = None
        if len(self.announced) > MAX_ANNOUNCED:
            self.announced.popitem(last=False)
        found.append(self.update(event, view))
        return found

    def update(self, event: str, view: dict[str, Any]) -> dict[str, Any]:
        order = alpaca_order(self.request.app, view)
        fill = event == "fill"
        moment = (view["filled_at"] if fill else view["canceled_at"] if event in ENDED
                  else None) or order["updated_at"] or view["created_at"]
        return {"stream": "trade_updates", "data": {
            "event": event, "order": order, "timestamp": moment,
            "execution_id": str(uuid.uuid5(FILLS, view["id"])) if fill else None,
            "position_qty": None,  # the batch's position_update gives it (moved)
            "price": view["filled_price"] if fill else None,
            "qty": (view["filled_quantity"] or view["quantity"]) if fill else None}}


async def _first(ws: web.WebSocketResponse) -> WSMessage | None:
    """The first message, within AUTH_WITHIN (None: none came, or it was no data)."""
    try:
        first = await ws.receive(timeout=wire.AUTH_WITHIN)
    except TimeoutError:
        return None
    return first if first.type in (WSMsgType.TEXT, WSMsgType.BINARY) else None


async def _refuse(ws: web.WebSocketResponse, encoding: Encoding, error: PaperDeskError) -> None:
    await wire.send(ws, encoding, authorization("unauthorized", error.message))
    await ws.close(code=CLOSE_CODES.get(type(error), CLOSE_UNAUTHORIZED),
                   message=error.code.encode())


@routes.get("/stream")
async def trading_stream(request: web.Request) -> web.WebSocketResponse:
    """Alpaca's trade_updates stream (module docstring)."""
    ws = await wire.open_socket(request, request.app[keys.SETTINGS].socket_max_message_bytes)
    first = await _first(ws)
    if first is None:
        await _refuse(ws, Encoding.JSON_TEXT, AuthenticationRequired("auth timeout"))
        return ws
    encoding = Encoding.JSON_TEXT if first.type == WSMsgType.TEXT else Encoding.JSON_BINARY
    try:
        message, encoding = wire.decode(first)
        principal = await wire.admit_token(request, auth_token(message))
    except InvalidJSON as error:
        await _refuse(ws, encoding, AuthenticationRequired(error.message))
        return ws
    except PaperDeskError as error:
        await _refuse(ws, encoding, error)
        return ws
    stream = TradeStream(request, encoding)
    client = wire.join(request, ws, principal, stream.relay)
    if client is None:
        return ws
    stream.client = client
    try:
        stream.write(authorization("authorized"))
        async for message in ws:
            if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                await stream.handle(message)
    finally:
        wire.leave(request, client)
    return ws
