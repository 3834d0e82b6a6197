"""The trading commands, shared by REST and Socket.IO: same parsing, same answers."""

from __future__ import annotations

import re
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
from server import keys
from server.auth import Principal
from server.views import order_view, trade_view
from trading.errors import InvalidInput
from trading.market import validate_symbols
from trading.orders import OrderRequest, OrderType, Side, TimeInForce

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
        client_order_id=client_order_id)


async def place_order(app: web.Application, principal: Principal, data: Any) -> dict[str, Any]:
    order = await app[keys.ENGINE].place_order(principal.user_id, parse_order(app, data))
    return {"order": order_view(order)}


async def cancel_order(app: web.Application, principal: Principal,
                       order_id: str) -> dict[str, Any]:
    order = await app[keys.ENGINE].cancel_order(principal.user_id, order_id)
    return {"order": order_view(order)}


def _levels(body: Body) -> dict[str, Decimal | None]:
    changes: dict[str, Decimal | None] = {
        name: decimal(body, name) for name in ("stop_loss", "target_price") if name in body}
    if not changes:
        raise InvalidInput("Send stop_loss and/or target_price (null removes one).")
    return changes


async def modify_trade(app: web.Application, principal: Principal, trade_id: str,
                       data: Any) -> dict[str, Any]:
    engine = app[keys.ENGINE]
    trade = await engine.modify_trade(principal.user_id, trade_id, _levels(payload(data)))
    return {"trade": trade_view(trade, engine.prices())}


async def exit_trade(app: web.Application, principal: Principal, trade_id: str,
                     data: Any) -> dict[str, Any]:
    engine = app[keys.ENGINE]
    quantity = decimal(payload(data), "quantity") if data is not None else None
    trade = await engine.exit_trade(principal.user_id, trade_id, quantity)
    return {"trade": trade_view(trade, engine.prices())}


async def exit_all(app: web.Application, principal: Principal) -> dict[str, Any]:
    engine = app[keys.ENGINE]
    closed = await engine.exit_all(principal.user_id)
    return {"trades": [trade_view(trade, engine.prices()) for trade in closed]}


async def get_account(app: web.Application, principal: Principal) -> dict[str, Any]:
    return {"account": await app[keys.ENGINE].account_view(principal.user_id)}
