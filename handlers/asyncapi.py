"""The AsyncAPI 3.0 description of the socket transports, served at /api/asyncapi.json.

Socket.IO (/socket.io/) and the plain WebSocket (/ws) carry the same commands and
events (handlers/commands.py dispatches both). Each command is a channel the
client sends on, answered by an ack; each event is a channel the server sends on.
The command channels are made from the dispatch table itself, so a command
without a description here fails at import, and the tests compare both
transports' registered handlers with this document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers import commands
from handlers.api_examples import merged
from handlers.examples import example_of
from handlers.openapi import (
    DECIMAL,
    DECIMAL_IN,
    INTEGER,
    MAYBE_TEXT,
    SCHEMAS,
    TEXT,
    Schema,
    obj,
    ref,
)

SOCKET_IO, PLAIN = "socketio", "ws"
BOTH = (SOCKET_IO, PLAIN)
SYMBOLS = obj({"symbols": {"type": "array", "items": TEXT, "maxItems": 50}})
NOTHING: Schema = {"type": ["object", "null"], "description": "no fields: send {} or nothing"}
ID = {"order_id": TEXT}
LEVELS = {"stop_loss": DECIMAL_IN, "target_price": DECIMAL_IN,
          "trailing_amount": DECIMAL_IN, "trailing_percent": DECIMAL_IN}
REPLACEABLE = {name: DECIMAL_IN for name in commands.REPLACEABLE}


@dataclass(frozen=True, slots=True)
class Command:
    summary: str
    payload: Schema
    ack: dict[str, Schema]  # the fields of a successful ack besides ok
    transports: tuple[str, ...] = BOTH
    example: Any = None  # the payload to show (default: made from the schema)


# Commands of handlers/commands.py, and the transports' own (subscriptions, join, auth).
COMMANDS: dict[str, Command] = {
    "auth": Command("/ws only, the first message when no Authorization header was sent: "
                    "authenticate the connection", obj({"token": TEXT}),
                    {"user_id": TEXT}, (PLAIN,)),
    "join": Command("Socket.IO only, kept for older clients: the token must be this "
                    "socket's user's; any user_id sent is ignored", obj({"token": TEXT}),
                    {"room": TEXT}, (SOCKET_IO,)),
    "subscribe": Command("Start live prices for symbols (all or nothing; at most 50 per "
                         "connection)", SYMBOLS,
                         {"symbols": {"type": "array", "items": TEXT},
                          "quotes": {"type": "array", "items": ref("Quote")}},
                         example={"symbols": ["AAPL", "BTCUSDT"]}),
    "unsubscribe": Command("Stop live prices for symbols", SYMBOLS,
                           {"symbols": {"type": "array", "items": TEXT}},
                           example={"symbols": ["AAPL"]}),
    "whoami": Command("The connection's user", NOTHING, {"user": ref("User")}, example={}),
    "place_order": Command("Place an order (as POST /api/v1/orders)", ref("OrderRequest"),
                           {"order": ref("Order")},
                           example={"symbol": "AAPL", "side": "buy", "quantity": "10",
                                    "type": "market", "stop_loss": "180"}),
    "cancel_order": Command("Cancel a resting order", obj(ID), {"order": ref("Order")}),
    "replace_order": Command("Replace a resting order with changed fields",
                             obj(ID, {**REPLACEABLE, "time_in_force": {"enum": ["gtc", "day"]},
                                      "client_order_id": TEXT}),
                             {"order": ref("Order"), "replaced": ref("Order")},
                             example={"order_id": "665f1c2e9b1e8a3d4c5b6a71",
                                      "limit_price": "188"}),
    "cancel_all_orders": Command("Cancel every open order; each one's outcome", NOTHING, {
        "orders": {"type": "array", "items": obj(
            {"id": TEXT, "status": {"enum": ["canceled", "failed"]}},
            {"order": ref("Order"), "error": SCHEMAS["Error"]["properties"]["error"]})}},
        example={}),
    "modify_trade": Command("Change a trade's stop-loss, target or trailing stop (null "
                            "removes)", obj({"trade_id": TEXT}, LEVELS), {"trade": ref("Trade")},
                            example={"trade_id": "665f1c2e9b1e8a3d4c5b6a73",
                                     "stop_loss": "185"}),
    "exit_trade": Command("Close all or part of a trade",
                          obj({"trade_id": TEXT}, {"quantity": DECIMAL_IN}),
                          {"trade": ref("Trade")},
                          example={"trade_id": "665f1c2e9b1e8a3d4c5b6a73", "quantity": "5"}),
    "exit_all": Command("Close every open trade", NOTHING,
                        {"trades": {"type": "array", "items": ref("Trade")}}, example={}),
    "get_account": Command("Balances, unrealized P&L, equity and the last event's seq",
                           NOTHING, {"account": ref("Account")}, example={}),
    "create_alert": Command("Create a price alert", ref("AlertRequest"),
                            {"alert": ref("Alert")},
                            example={"symbol": "AAPL", "condition": "above", "price": "200"}),
    "delete_alert": Command("Cancel an alert", obj({"alert_id": TEXT}),
                            {"alert": ref("Alert")}),
    "list_alerts": Command("A page of alerts, newest first", obj({}, {
        "status": {"enum": ["active", "triggered", "cancelled"]},
        "limit": {"type": "integer", "minimum": 1, "maximum": commands.PAGE_MAX},
        "cursor": TEXT}), {"alerts": {"type": "array", "items": ref("Alert")},
                           "next_cursor": MAYBE_TEXT}, example={"status": "active"}),
}
TRANSPORT_COMMANDS = {"auth", "join", "subscribe", "unsubscribe"}


@dataclass(frozen=True, slots=True)
class Event:
    when: str
    payload: Schema
    to: str = "the user's connections"
    shown: dict[str, Any] | None = None  # fields of the example worth setting by hand
    transports: tuple[str, ...] = BOTH


SEQ = {"seq": INTEGER}
CLOSE_REASON: Schema = {"enum": ["manual", "stop_loss", "target", "trailing_stop", "exit_all",
                                 "reset", "order", None]}
EVENTS: dict[str, Event] = {
    "live_price": Event("one subscribed symbol changed in the last price window (25 ms)",
                        ref("Quote"), "subscribers of the symbol"),
    "prices": Event("several subscribed symbols changed in the last window: one event "
                    "carries them all (/ws: {type: prices, quotes: [...]})",
                    {"type": "array", "items": ref("Quote")}, "subscribers of the symbols"),
    "order_update": Event("an order was filled, rested, cancelled or rejected (and each "
                          "leg of a bracket, oto or oco as it changes)",
                          obj({**SEQ, "order": ref("Order")})),
    "trade_update": Event("a trade opened, was modified, reduced or closed",
                          obj({**SEQ, "event": {"enum": ["opened", "modified", "reduced",
                                                         "closed"]},
                               "reason": CLOSE_REASON, "trade": ref("Trade")}),
                          shown={"seq": 7, "event": "closed", "reason": "stop_loss"}),
    "position_update": Event("a position changed: an order filled into it, or a trade of it "
                             "was exited (position null when flat)", obj({
                                 **SEQ, "symbol": TEXT, "reason": TEXT,
                                 "trades_closed": INTEGER,
                                 "trades_reduced": {"type": "array", "items": TEXT},
                                 "position": {"oneOf": [ref("Position"), {"type": "null"}]}}),
                             shown={"seq": 5, "reason": "order", "trades_closed": 0,
                                    "trades_reduced": []}),
    "alert_triggered": Event("an alert fired at price",
                             obj({**SEQ, "alert": ref("Alert"), "price": DECIMAL}),
                             shown={"seq": 9, "price": "200.05"}),
    "account_update": Event("stored balances changed (GET /api/v1/account adds unrealized "
                            "P&L)", obj({**SEQ, "account": ref("Balances")})),
    "notification": Event("a new in-app notification",
                          obj({"notification": ref("Notification")})),
    "sentiment": Event("a Fear & Greed index changed, or turned stale or fresh (Socket.IO "
                       "only: /ws clients read GET /api/v1/sentiment)", ref("FearGreed"),
                       "every Socket.IO connection", transports=(SOCKET_IO,)),
    "profile_update": Event("the user's profile changed (from any device)",
                            obj({"user": ref("User")})),
    "session_revoked": Event("this connection's session ended; the server disconnects it "
                             "next", obj({"reason": TEXT}), "the session's connections",
                             shown={"reason": "session ended"}),
    "news": Event("a new headline mentions a subscribed symbol", ref("Headline"),
                  "subscribers of its symbols"),
}
# Events stored with a seq: a client catches up with GET /api/v1/events?after=<seq>.
STORED_EVENTS = ("order_update", "trade_update", "position_update", "alert_triggered",
                 "account_update")


def _check_table() -> None:
    """Fail at import when the dispatch table has a command described nowhere here."""
    missing = set(commands.COMMANDS) - set(COMMANDS)
    if missing:
        raise LookupError(f"commands without an AsyncAPI description: {sorted(missing)}")


_check_table()


def ack_schema(command: Command) -> Schema:
    return {"oneOf": [obj({"ok": {"const": True}, **command.ack}),
                      obj({"ok": {"const": False}, "error": ref("ErrorBody")})]}


def payload_example(command: Command) -> Any:
    if command.example is not None:
        return command.example
    return example_of(command.payload, SCHEMAS)


def ack_example(command: Command) -> Any:
    return example_of(obj({"ok": {"const": True}, **command.ack}), SCHEMAS)


def event_example(event: Event) -> Any:
    made = example_of(event.payload, SCHEMAS)
    return made if event.shown is None else merged(made, event.shown)


def _message(name: str, summary: str, schema: Schema, example: Any) -> Schema:
    return {"name": name, "summary": summary, "payload": schema,
            "examples": [{"payload": example}]}


def document(host: str, secure: bool) -> Schema:
    """The AsyncAPI 3.0 document, its servers at host (ws, or wss when secure)."""
    protocol = "wss" if secure else "ws"
    servers = {
        SOCKET_IO: {"host": host, "protocol": protocol, "pathname": "/socket.io/",
                    "description": "Socket.IO (Engine.IO 4): authenticate with "
                                   "auth: {token} in the handshake. A command is an event "
                                   "whose ack carries the answer."},
        PLAIN: {"host": host, "protocol": protocol, "pathname": "/ws",
                "description": "Plain WebSocket of JSON text messages: send {type, id, "
                               "data}, receive {type: ack, id, ok, ...}; events arrive as "
                               "{type: <event>, ...payload}."}}
    channels: Schema = {}
    operations: Schema = {}
    messages: Schema = {}
    for name, command in COMMANDS.items():
        messages[name] = _message(name, command.summary, command.payload,
                                  payload_example(command))
        messages[f"{name}_ack"] = _message(f"{name}_ack", f"The answer to {name}",
                                           ack_schema(command), ack_example(command))
        channels[name] = {
            "address": name,
            "servers": [{"$ref": f"#/servers/{server}"} for server in command.transports],
            "messages": {"request": {"$ref": f"#/components/messages/{name}"},
                         "ack": {"$ref": f"#/components/messages/{name}_ack"}}}
        operations[name] = {
            "action": "receive", "summary": command.summary,
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/request"}],
            "reply": {"channel": {"$ref": f"#/channels/{name}"},
                      "messages": [{"$ref": f"#/channels/{name}/messages/ack"}]}}
    for name, event in EVENTS.items():
        messages[name] = _message(name, event.when, event.payload, event_example(event))
        channels[name] = {
            "address": name, "description": f"Sent to {event.to}.",
            "servers": [{"$ref": f"#/servers/{server}"} for server in event.transports],
            "messages": {name: {"$ref": f"#/components/messages/{name}"}}}
        operations[f"on_{name}"] = {
            "action": "send", "summary": event.when,
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/{name}"}]}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "PaperDesk sockets", "version": "1",
                 "description": "Commands (the client sends, an ack answers) and events (the "
                                "server pushes) over Socket.IO and /ws. Events with a seq "
                                "are stored: after a reconnect, read GET "
                                "/api/v1/events?after=<seq>."},
        "defaultContentType": "application/json",
        "servers": servers,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages,
                       "schemas": {**SCHEMAS,
                                   "ErrorBody": SCHEMAS["Error"]["properties"]["error"]}},
    }
