"""The trading commands, shared by REST and Socket.IO: same parsing, same answers."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from handlers.validation import (
    Body,
    choice,
    decimal,
    optional_string,
    payload,
    required_decimal,
    string,
)
from notifier.outbox import CHANNELS
from server import keys
from server.alerts import alert_view
from server.auth import Principal, public_user
from server.views import order_view, trade_view
from trading.errors import InvalidInput, PaperDeskError
from trading.market import validate_symbols
from trading.orders import OrderRequest, OrderType, Side, TimeInForce
from trading.triggers import Condition

_CLIENT_ORDER_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def parse_order(app: web.Application, data: Any) -> OrderRequest:
    body = payload(data)
    [symbol] = validate_symbols(app[keys.MARKET].universe, [string(body, "symbol")], 1)
    client_order_id = optional_string(body, "client_order_id", max_chars=64)
    if client_order_id is not None and not _CLIENT_ORDER_ID.match(client_order_id):
        raise InvalidInput("client_order_id may hold letters, digits and . _ : - only.",
                           field="client_order_id")
    quantity = required_decimal(body, "quantity")
    return OrderRequest(
        symbol=symbol, side=choice(body, "side", Side),
        type=choice(body, "type", OrderType, OrderType.MARKET), quantity=quantity,
        limit_price=decimal(body, "limit_price"), stop_price=decimal(body, "stop_price"),
        stop_loss=decimal(body, "stop_loss"), target_price=decimal(body, "target_price"),
        time_in_force=choice(body, "time_in_force", TimeInForce, TimeInForce.GTC),
        client_order_id=client_order_id, trailing_amount=decimal(body, "trailing_amount"),
        trailing_percent=decimal(body, "trailing_percent"))


async def place_order(app: web.Application, principal: Principal, data: Any) -> dict[str, Any]:
    started, outcome = time.perf_counter(), "internal_error"
    try:
        order = await app[keys.ENGINE].place_order(principal.user_id, parse_order(app, data))
        outcome = "ok"
    except PaperDeskError as error:
        outcome = error.code
        raise
    finally:
        app[keys.METRICS].order_seconds.labels(outcome).observe(time.perf_counter() - started)
    return {"order": order_view(order)}


async def cancel_order(app: web.Application, principal: Principal,
                       order_id: str) -> dict[str, Any]:
    order = await app[keys.ENGINE].resting.cancel(principal.user_id, order_id)
    return {"order": order_view(order)}


def _levels(body: Body) -> dict[str, Decimal | None]:
    names = ("stop_loss", "target_price", "trailing_amount", "trailing_percent")
    changes: dict[str, Decimal | None] = {name: decimal(body, name) for name in names
                                          if name in body}
    if not changes:
        raise InvalidInput("Send stop_loss, target_price, trailing_amount or trailing_percent "
                           "(null removes one).")
    return changes


async def modify_trade(app: web.Application, principal: Principal, trade_id: str,
                       data: Any) -> dict[str, Any]:
    engine = app[keys.ENGINE]
    trade = await engine.trades.modify(principal.user_id, trade_id, _levels(payload(data)))
    return {"trade": trade_view(trade, engine.prices())}


async def exit_trade(app: web.Application, principal: Principal, trade_id: str,
                     data: Any) -> dict[str, Any]:
    engine = app[keys.ENGINE]
    quantity = decimal(payload(data), "quantity") if data is not None else None
    trade = await engine.trades.exit(principal.user_id, trade_id, quantity)
    return {"trade": trade_view(trade, engine.prices())}


async def exit_all(app: web.Application, principal: Principal) -> dict[str, Any]:
    engine = app[keys.ENGINE]
    closed = await engine.trades.exit_all(principal.user_id)
    return {"trades": [trade_view(trade, engine.prices()) for trade in closed]}


async def get_account(app: web.Application, principal: Principal) -> dict[str, Any]:
    return {"account": await app[keys.ENGINE].account_view(principal.user_id)}


def _alert_fields(body: Body, creating: bool) -> dict[str, Any]:
    """Read the alert fields present in body (all required ones when creating)."""
    fields: dict[str, Any] = {}
    if creating or "condition" in body:
        fields["condition"] = choice(body, "condition", Condition)
    if creating or "price" in body:
        fields["price"] = required_decimal(body, "price")
    if "note" in body:
        fields["note"] = optional_string(body, "note", max_chars=200)
    if "channels" in body or creating:
        channels = body.get("channels", ["in_app"])
        if (not isinstance(channels, list) or not channels
                or not all(channel in CHANNELS for channel in channels)):
            raise InvalidInput(f"'channels' must list some of: {', '.join(CHANNELS)}.",
                               field="channels")
        fields["channels"] = list(dict.fromkeys(channels))
    if "repeat" in body or creating:
        repeat = body.get("repeat", False)
        if not isinstance(repeat, bool):
            raise InvalidInput("'repeat' must be true or false.", field="repeat")
        fields["repeat"] = repeat
    if "cooldown" in body or creating:
        cooldown = body.get("cooldown", 60)
        if isinstance(cooldown, bool) or not isinstance(cooldown, int) or not (
                0 <= cooldown <= 86_400):
            raise InvalidInput("'cooldown' must be 0 to 86400 seconds.", field="cooldown")
        fields["cooldown"] = cooldown
    return fields


async def create_alert(app: web.Application, principal: Principal, data: Any) -> dict[str, Any]:
    body = payload(data)
    [symbol] = validate_symbols(app[keys.MARKET].universe, [string(body, "symbol")], 1)
    fields = _alert_fields(body, creating=True)
    alert = await app[keys.ALERTS].create(principal.user_id, symbol, note=fields.pop("note", None),
                                          **fields)
    return {"alert": alert_view(alert)}


async def update_alert(app: web.Application, principal: Principal, alert_id: str,
                       data: Any) -> dict[str, Any]:
    fields = _alert_fields(payload(data), creating=False)
    if not fields:
        raise InvalidInput("Send at least one field to change.")
    alert = await app[keys.ALERTS].update(principal.user_id, alert_id, fields)
    return {"alert": alert_view(alert)}


async def delete_alert(app: web.Application, principal: Principal,
                       alert_id: str) -> dict[str, Any]:
    return {"alert": alert_view(await app[keys.ALERTS].cancel(principal.user_id, alert_id))}


async def list_alerts(app: web.Application, principal: Principal,
                      status: str | None) -> dict[str, Any]:
    if status not in (None, "active", "triggered", "cancelled"):
        raise InvalidInput("'status' must be active, triggered or cancelled.", field="status")
    alerts = await app[keys.STORE].alerts.find(principal.user_id, status)
    return {"alerts": [alert_view(alert) for alert in alerts]}


# -- the message commands, as both message transports (Socket.IO and /ws) take them --

Command = Callable[[web.Application, Principal, Any], Awaitable[dict[str, Any]]]
# A transport's handler: (connection id, payload) -> the answer.
Handler = Callable[[str, Any], Awaitable[dict[str, Any]]]


def bind(app: web.Application, command: Command,
         principal_of: Callable[[str], Awaitable[Principal]]) -> Handler:
    """A shared command as a transport's handler, its user taken from the connection."""
    async def run(connection: str, data: Any) -> dict[str, Any]:
        return await command(app, await principal_of(connection), data)
    run.__name__ = command.__name__.lstrip("_")
    return run


def _ref(data: Any, name: str) -> str:
    return string(payload(data), name, max_chars=64)


async def _whoami(app: web.Application, principal: Principal, data: Any) -> dict[str, Any]:
    return {"user": public_user(await app[keys.AUTH].profile(principal))}


async def _cancel_order(app: web.Application, principal: Principal,
                        data: Any) -> dict[str, Any]:
    return await cancel_order(app, principal, _ref(data, "order_id"))


async def _modify_trade(app: web.Application, principal: Principal,
                        data: Any) -> dict[str, Any]:
    return await modify_trade(app, principal, _ref(data, "trade_id"), data)


async def _exit_trade(app: web.Application, principal: Principal,
                      data: Any) -> dict[str, Any]:
    return await exit_trade(app, principal, _ref(data, "trade_id"), data)


async def _exit_all(app: web.Application, principal: Principal, data: Any) -> dict[str, Any]:
    return await exit_all(app, principal)


async def _get_account(app: web.Application, principal: Principal,
                       data: Any) -> dict[str, Any]:
    return await get_account(app, principal)


async def _delete_alert(app: web.Application, principal: Principal,
                        data: Any) -> dict[str, Any]:
    return await delete_alert(app, principal, _ref(data, "alert_id"))


async def _list_alerts(app: web.Application, principal: Principal,
                       data: Any) -> dict[str, Any]:
    status = optional_string(payload(data or {}), "status", max_chars=20)
    return await list_alerts(app, principal, status)


COMMANDS: dict[str, Command] = {
    "whoami": _whoami, "place_order": place_order, "cancel_order": _cancel_order,
    "modify_trade": _modify_trade, "exit_trade": _exit_trade, "exit_all": _exit_all,
    "get_account": _get_account, "create_alert": create_alert,
    "delete_alert": _delete_alert, "list_alerts": _list_alerts,
}
