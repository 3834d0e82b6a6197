"""The trading commands, shared by REST and Socket.IO: same parsing, same answers."""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import web

from handlers import keys
from handlers.order_params import exits_of
from handlers.validation import (
    Body,
    choice,
    decimal,
    optional_string,
    payload,
    required_decimal,
    string,
    whole_number,
)
from notifier.outbox import CHANNELS
from services.alerts import alert_view, cooldown_range
from services.auth import public_user
from services.principal import Principal
from services.views import order_view, trade_view
from store.database import Document
from trading.errors import InsufficientScope, InvalidInput, PaperDeskError
from trading.intel import index_symbol
from trading.market import validate_symbols
from trading.orders import (
    OrderClass,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from trading.triggers import AlertStatus, Condition

_CLIENT_ORDER_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,400}$")
PAGE_DEFAULT, PAGE_MAX = 100, 500


# -- pages of a list: ?limit= and an opaque ?cursor=; the answer says next_cursor --

@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    after: str | None  # the last id of the previous page (newest first: older ids follow)


def encode_cursor(kind: str, last_id: str) -> str:
    """An opaque cursor for the page after the item last_id, of a list of kind."""
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: Any) -> str:
    """The last id a cursor of a list of kind names, or 400 naming 'cursor'."""
    bad = InvalidInput("'cursor' must be a next_cursor this list returned.", field="cursor")
    if not isinstance(cursor, str) or not _CURSOR.match(cursor):
        raise bad
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise bad from None
    named, _, last_id = text.partition(":")
    if named != kind or not last_id:
        raise bad
    return last_id


def page_of(kind: str, params: Mapping[str, Any]) -> Page:
    """Read limit (1 to PAGE_MAX, default PAGE_DEFAULT) and cursor from a query string
    or a socket payload."""
    raw = params.get("limit")
    limit = PAGE_DEFAULT if raw is None else whole_number(raw, "limit", low=1, high=PAGE_MAX)
    cursor = params.get("cursor")
    return Page(limit, None if cursor is None else decode_cursor(kind, cursor))


def paged(kind: str, page: Page, found: list[Document]) -> tuple[list[Document], str | None]:
    """The page from up to limit + 1 documents found, and the cursor of the next page
    (None at the end)."""
    items = found[:page.limit]
    more = len(found) > page.limit
    return items, encode_cursor(kind, items[-1]["_id"]) if more and items else None


MAX_CANCEL_ALL = 10_000  # open orders one DELETE /orders cancels


def client_order_id_of(body: Body) -> str | None:
    client_order_id = optional_string(body, "client_order_id", max_chars=64)
    if client_order_id is not None and not _CLIENT_ORDER_ID.match(client_order_id):
        raise InvalidInput("client_order_id may hold letters, digits and . _ : - only.",
                           field="client_order_id")
    return client_order_id


def parse_order(app: web.Application, data: Any) -> OrderRequest:
    body = payload(data)
    [symbol] = validate_symbols(app[keys.MARKET].universe, [string(body, "symbol")], 1)
    client_order_id = client_order_id_of(body)
    notional = decimal(body, "notional")
    if notional is not None and body.get("quantity") is not None:
        raise InvalidInput("Send quantity or notional, not both.", field="notional")
    quantity = Decimal(0) if notional is not None else required_decimal(body, "quantity")
    order_class = choice(body, "order_class", OrderClass, OrderClass.SIMPLE)
    exits, stop_loss = exits_of(body, order_class)
    default_type = OrderType.LIMIT if order_class == OrderClass.OCO else OrderType.MARKET
    return OrderRequest(
        symbol=symbol, side=choice(body, "side", Side),
        type=choice(body, "type", OrderType, default_type), quantity=quantity,
        limit_price=decimal(body, "limit_price"), stop_price=decimal(body, "stop_price"),
        stop_loss=stop_loss, target_price=decimal(body, "target_price"),
        order_class=order_class, exits=exits,
        time_in_force=choice(body, "time_in_force", TimeInForce, TimeInForce.GTC),
        client_order_id=client_order_id, trailing_amount=decimal(body, "trailing_amount"),
        trailing_percent=decimal(body, "trailing_percent"), notional=notional,
        trail_price=decimal(body, "trail_price"), trail_percent=decimal(body, "trail_percent"))


async def place_order(app: web.Application, principal: Principal, data: Any) -> dict[str, Any]:
    started, outcome = time.perf_counter(), "internal_error"
    try:
        order = await app[keys.ENGINE].place_order(
            principal.user_id, parse_order(app, data),
            app[keys.SETTINGS].limits.open_orders_per_user)
        outcome = "ok"
    except PaperDeskError as error:
        outcome = error.code
        raise
    finally:
        app[keys.METRICS].order_seconds.labels(outcome).observe(time.perf_counter() - started)
    return {"order": await nested_view(app, order)}


async def nested_view(app: web.Application, order: Document) -> dict[str, Any]:
    """An order as clients see it, with its legs (if any) nested in it."""
    if not order.get("legs"):
        return order_view(order)
    return order_view(order, await app[keys.STORE].orders.legs(order["user_id"],
                                                               list(order["legs"])))


REPLACEABLE = ("quantity", "limit_price", "stop_price", "stop_loss", "target_price",
               "trailing_amount", "trailing_percent", "trail_price", "trail_percent")


async def replace_order(app: web.Application, principal: Principal, order_id: str,
                        data: Any) -> dict[str, Any]:
    """The new order of a replaced one (and the old one, ended replaced)."""
    body = payload(data)
    unknown = sorted(set(body) - {*REPLACEABLE, "time_in_force", "client_order_id"})
    if unknown:
        raise InvalidInput(f"An order's {str(unknown[0])[:40]!r} cannot be changed; send "
                           f"{', '.join(REPLACEABLE)}, time_in_force or client_order_id.",
                           field=str(unknown[0])[:40])
    changes: dict[str, Any] = {name: decimal(body, name) for name in REPLACEABLE
                               if name in body}
    if "quantity" in changes and changes["quantity"] is None:
        raise InvalidInput("'quantity' cannot be removed.", field="quantity")
    if "time_in_force" in body:
        changes["time_in_force"] = choice(body, "time_in_force", TimeInForce)
    if "client_order_id" in body:
        changes["client_order_id"] = client_order_id_of(body)
    if not changes:
        raise InvalidInput("Send at least one field to change.")
    old, new = await app[keys.ENGINE].replace_order(principal.user_id, order_id, changes)
    return {"order": order_view(new), "replaced": order_view(old)}


async def cancel_all_orders(app: web.Application, principal: Principal) -> dict[str, Any]:
    """Cancel every open order; each one's outcome (Alpaca's DELETE /orders)."""
    engine, results = app[keys.ENGINE], []
    with_others: dict[str, Document] = {}  # legs and siblings cancelled with an order
    for order in await engine.store.orders.find(principal.user_id, status=OrderStatus.OPEN,
                                                limit=MAX_CANCEL_ALL):
        if order["_id"] in with_others:
            results.append({"id": order["_id"], "status": "canceled",
                            "order": order_view(with_others[order["_id"]])})
            continue
        try:
            cancelled, *others = await engine.resting.cancel_group(principal.user_id,
                                                                   order["_id"])
            with_others.update((other["_id"], other) for other in others)
            results.append({"id": order["_id"], "status": "canceled",
                            "order": order_view(cancelled)})
        except PaperDeskError as error:  # filled or ended meanwhile
            results.append({"id": order["_id"], "status": "failed", "error": error.to_dict()})
    return {"orders": results}


async def cancel_order(app: web.Application, principal: Principal,
                       order_id: str) -> dict[str, Any]:
    order = await app[keys.ENGINE].resting.cancel(principal.user_id, order_id)
    return {"order": await nested_view(app, order)}


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


def _alert_fields(app: web.Application, body: Body, creating: bool) -> dict[str, Any]:
    """Read the alert fields present in body (all required ones when creating).

    A repeating alert's cooldown is checked against ALERT_MIN_COOLDOWN by the
    alert service, which knows the alert's stored fields when one is changed.
    """
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
        low, high = cooldown_range(app[keys.SETTINGS].limits.alert_min_cooldown)
        cooldown = body.get("cooldown", low)
        if isinstance(cooldown, bool) or not isinstance(cooldown, int) or not (
                0 <= cooldown <= high):
            raise InvalidInput(f"'cooldown' must be 0 to {high} seconds (a repeating "
                               f"alert's at least {low}).", field="cooldown",
                               details={"min": low, "max": high})
        fields["cooldown"] = cooldown
    return fields


async def create_alert(app: web.Application, principal: Principal, data: Any) -> dict[str, Any]:
    body = payload(data)
    raw = string(body, "symbol")
    symbol = index_symbol(raw)
    if symbol is None:
        [symbol] = validate_symbols(app[keys.MARKET].universe, [raw], 1)
    fields = _alert_fields(app, body, creating=True)
    limits = app[keys.SETTINGS].limits
    alert = await app[keys.ALERTS].create(principal.user_id, symbol, note=fields.pop("note", None),
                                          max_active=limits.alerts_per_user, **fields)
    return {"alert": alert_view(alert)}


async def update_alert(app: web.Application, principal: Principal, alert_id: str,
                       data: Any) -> dict[str, Any]:
    fields = _alert_fields(app, payload(data), creating=False)
    if not fields:
        raise InvalidInput("Send at least one field to change.")
    alert = await app[keys.ALERTS].update(principal.user_id, alert_id, fields)
    return {"alert": alert_view(alert)}


async def delete_alert(app: web.Application, principal: Principal,
                       alert_id: str) -> dict[str, Any]:
    return {"alert": alert_view(await app[keys.ALERTS].cancel(principal.user_id, alert_id))}


async def list_alerts(app: web.Application, principal: Principal,
                      params: Mapping[str, Any]) -> dict[str, Any]:
    """A page of the user's alerts, newest first: params holds status?, limit?, cursor?."""
    status = params.get("status")
    if status is not None and status not in list(AlertStatus):
        raise InvalidInput("'status' must be active, triggered or cancelled.", field="status")
    page = page_of("alerts", params)
    found = await app[keys.STORE].alerts.find(principal.user_id, status, limit=page.limit + 1,
                                              after=page.after)
    alerts, next_cursor = paged("alerts", page, found)
    return {"alerts": [alert_view(alert) for alert in alerts], "next_cursor": next_cursor}


# -- the message commands, as both message transports (Socket.IO and /ws) take them --

Command = Callable[[web.Application, Principal, Any], Awaitable[dict[str, Any]]]
# A transport's handler: (connection id, payload) -> the answer.
Handler = Callable[[str, Any], Awaitable[dict[str, Any]]]


def bind(app: web.Application, command: Command,
         principal_of: Callable[[str], Awaitable[Principal]]) -> Handler:
    """A shared command as a transport's handler, its user taken from the connection;
    one that changes anything is refused to a read-only API key."""
    name = command.__name__.lstrip("_")
    reads = name in READ_COMMANDS

    async def run(connection: str, data: Any) -> dict[str, Any]:
        principal = await principal_of(connection)
        if principal.read_only and not reads:
            raise InsufficientScope()
        return await command(app, principal, data)
    run.__name__ = name
    return run


def _ref(data: Any, name: str) -> str:
    return string(payload(data), name, max_chars=64)


async def _whoami(app: web.Application, principal: Principal, data: Any) -> dict[str, Any]:
    return {"user": public_user(await app[keys.AUTH].profile(principal))}


async def _cancel_order(app: web.Application, principal: Principal,
                        data: Any) -> dict[str, Any]:
    return await cancel_order(app, principal, _ref(data, "order_id"))


async def _replace_order(app: web.Application, principal: Principal,
                         data: Any) -> dict[str, Any]:
    body = dict(payload(data))
    order_id = _ref(body, "order_id")
    del body["order_id"]
    return await replace_order(app, principal, order_id, body)


async def _cancel_all_orders(app: web.Application, principal: Principal,
                             data: Any) -> dict[str, Any]:
    return await cancel_all_orders(app, principal)


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
    body = payload(data or {})
    optional_string(body, "status", max_chars=20)
    return await list_alerts(app, principal, body)


# The commands that only read: all a read-only API key may send (with subscribe and
# unsubscribe, which each transport answers itself).
READ_COMMANDS = frozenset({"whoami", "get_account", "list_alerts"})
COMMANDS: dict[str, Command] = {
    "whoami": _whoami, "place_order": place_order, "cancel_order": _cancel_order,
    "replace_order": _replace_order, "cancel_all_orders": _cancel_all_orders,
    "modify_trade": _modify_trade, "exit_trade": _exit_trade, "exit_all": _exit_all,
    "get_account": _get_account, "create_alert": create_alert,
    "delete_alert": _delete_alert, "list_alerts": _list_alerts,
}
