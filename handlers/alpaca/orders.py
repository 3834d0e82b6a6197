"""Alpaca's /v2/orders over PaperDesk's order commands (handlers/commands.py): the
same parsing and services as /api/v1/orders, with Alpaca's field names and shapes."""

from __future__ import annotations

import contextlib
from typing import Any

from aiohttp import web

from handlers import commands, keys
from handlers.alpaca import shapes
from handlers.alpaca.errors import NotSupported
from handlers.common import authenticated
from handlers.validation import Body, moment, payload, read_json, whole_number
from services.views import order_view
from store.database import Document
from trading.errors import InvalidInput, NotFound, PaperDeskError, UnknownSymbol
from trading.orders import TERMINAL

routes = web.RouteTableDef()

# Alpaca's order fields PaperDesk takes as they are (qty is its quantity).
SAME_FIELDS = ("symbol", "notional", "side", "type", "time_in_force", "limit_price",
               "stop_price", "trail_price", "trail_percent", "client_order_id", "order_class",
               "take_profit", "stop_loss")
POSITION_INTENTS = ("buy_to_open", "buy_to_close", "sell_to_open", "sell_to_close")
MAX_ORDERS, DEFAULT_ORDERS = 500, 50
MAX_FILTER_SYMBOLS = 100
# A symbol or asset id in a path: Alpaca's crypto pairs keep their slash (BTC/USD).
SYMBOL = "{symbol:[^/]+(?:/[A-Za-z]{3,5})?}"
CLOSED = sorted(status.value for status in TERMINAL)


def json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def native_class(app: web.Application, symbol: str) -> str:
    return app[keys.ENGINE].asset_class(symbol).value


def alpaca_order(app: web.Application, view: dict[str, Any]) -> dict[str, Any]:
    return shapes.order(view, native_class(app, view["symbol"]))


def flag(value: Any, name: str) -> bool:
    """A true/false field or parameter (alpaca-py sends True and False)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidInput(f"'{name}' must be true or false.", field=name)


def native_order_body(app: web.Application, data: Any) -> Body:
    """An Alpaca order request as PaperDesk's: qty is quantity, BTC/USD its configured
    pair; extended hours are refused (each market trades in its own hours here)."""
    body = payload(data)
    if flag(body.get("extended_hours"), "extended_hours"):
        raise NotSupported("PaperDesk does not support extended-hours orders: each "
                           "market trades in its own hours.", details={"field": "extended_hours"})
    intent = body.get("position_intent")
    if intent is not None and intent not in POSITION_INTENTS:
        raise InvalidInput(f"'position_intent' must be one of {', '.join(POSITION_INTENTS)}.",
                           field="position_intent")
    native = {name: body[name] for name in SAME_FIELDS if name in body}
    if "qty" in body:
        native["quantity"] = body["qty"]
    symbol = body.get("symbol")
    if isinstance(symbol, str) and len(symbol) <= 40:
        # An unknown one is left for the order's parser to name.
        with contextlib.suppress(UnknownSymbol):
            native["symbol"] = shapes.native_symbol(app[keys.MARKET].universe, symbol)
    return native


def qty_named(error: PaperDeskError) -> PaperDeskError:
    """A native error about 'quantity' told about Alpaca's 'qty'."""
    if error.details and error.details.get("field") == "quantity":
        error.details["field"] = "qty"
        error.message = error.message.replace("'quantity'", "'qty'").replace(
            "quantity or notional", "qty or notional")
    return error


@routes.post("/v2/orders")
async def place_order(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    body = native_order_body(request.app, await read_json(request))
    try:
        placed = await commands.place_order(request.app, principal, body)
    except PaperDeskError as error:
        raise qty_named(error) from None
    return json(alpaca_order(request.app, placed["order"]))


def _statuses(query: dict[str, str]) -> list[str] | None:
    status = query.get("status", "open")
    if status not in ("open", "closed", "all"):
        raise InvalidInput("'status' must be open, closed or all.", field="status")
    statuses: dict[str, list[str]] = {"open": list(shapes.OPEN_STATUSES), "closed": CLOSED}
    return statuses.get(status)


def _symbols(app: web.Application, text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name for name in text.split(",") if name.strip()]
    if not names or len(names) > MAX_FILTER_SYMBOLS:
        raise InvalidInput(f"'symbols' must list 1 to {MAX_FILTER_SYMBOLS} symbols.",
                           field="symbols")
    universe = app[keys.MARKET].universe
    try:
        return sorted({shapes.native_symbol(universe, name[:40]) for name in names})
    except UnknownSymbol as error:
        raise InvalidInput(error.message, field="symbols") from None


async def _views(app: web.Application, orders: list[Document], nested: bool
                 ) -> list[dict[str, Any]]:
    if nested:
        return [alpaca_order(app, await commands.nested_view(app, o)) for o in orders]
    return [alpaca_order(app, order_view(o)) for o in orders]


@routes.get("/v2/orders")
async def list_orders(request: web.Request) -> web.Response:
    """Orders by status (open, closed, all), created after/until, oldest or newest first,
    of some symbols or a side; nested: legs inside their orders (and not listed alone)."""
    principal = await authenticated(request)
    query = dict(request.query)
    limit = whole_number(query.get("limit", DEFAULT_ORDERS), "limit", low=1, high=MAX_ORDERS)
    direction = query.get("direction", "desc")
    if direction not in ("asc", "desc"):
        raise InvalidInput("'direction' must be asc or desc.", field="direction")
    side = query.get("side")
    if side not in (None, "buy", "sell"):
        raise InvalidInput("'side' must be buy or sell.", field="side")
    nested = flag(query.get("nested"), "nested")
    after = None if "after" not in query else moment(query["after"], "after")
    until = None if "until" not in query else moment(query["until"], "until")
    found = await request.app[keys.STORE].orders.select(
        principal.user_id, statuses=_statuses(query),
        symbols=_symbols(request.app, query.get("symbols")), side=side, created_after=after,
        created_until=until, oldest_first=direction == "asc", limit=limit, top_level=nested)
    return json(await _views(request.app, found, nested))


def order_id(text: str) -> str:
    """The PaperDesk id of an order id in a path (its UUID, or the id itself)."""
    native = shapes.id_of(text) if len(text) == 36 else text
    if native is None or not shapes.HEX_ID.fullmatch(native):
        raise NotFound("order not found")
    return native


async def _order(request: web.Request, user_id: str) -> Document:
    found = await request.app[keys.STORE].orders.get(
        user_id, order_id(request.match_info["order_id"]))
    if found is None:
        raise NotFound("order not found")
    return found


@routes.get("/v2/orders:by_client_order_id")
async def get_by_client_order_id(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    client_order_id = request.query.get("client_order_id")
    if not client_order_id or len(client_order_id) > 128:
        raise InvalidInput("'client_order_id' is required (at most 128 characters).",
                           field="client_order_id")
    found = await request.app[keys.STORE].orders.holder(principal.user_id, client_order_id)
    if found is None:
        raise NotFound("order not found")
    return json(alpaca_order(request.app, await commands.nested_view(request.app, found)))


@routes.get("/v2/orders/{order_id}")
async def get_order(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    found = await _order(request, principal.user_id)
    return json(alpaca_order(request.app, await commands.nested_view(request.app, found)))


def native_changes(order: Document, data: Any) -> Body:
    """Alpaca's replace request (qty, time_in_force, limit_price, stop_price, trail,
    client_order_id) as PaperDesk's: trail is the order's trail_price or trail_percent."""
    body = payload(data)
    unknown = sorted(str(name)[:40] for name in set(body) - {
        "qty", "time_in_force", "limit_price", "stop_price", "trail", "client_order_id"})
    if unknown:
        raise InvalidInput(f"An order's {unknown[0]!r} cannot be replaced.", field=unknown[0])
    changes: Body = {name: body[name] for name in ("time_in_force", "limit_price", "stop_price",
                                              "client_order_id") if name in body}
    if "qty" in body:
        changes["quantity"] = body["qty"]
    if "trail" in body:
        changes["trail_percent" if order.get("trail_percent") is not None
                else "trail_price"] = body["trail"]
    return changes


@routes.patch("/v2/orders/{order_id}")
async def replace_order(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    data = await read_json(request)
    found = await _order(request, principal.user_id)
    try:
        replaced = await commands.replace_order(request.app, principal, found["_id"],
                                                native_changes(found, data))
    except PaperDeskError as error:
        raise qty_named(error) from None
    return json(alpaca_order(request.app, replaced["order"]))


@routes.delete("/v2/orders/{order_id}")
async def cancel_order(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    found = await _order(request, principal.user_id)
    await commands.cancel_order(request.app, principal, found["_id"])
    return web.Response(status=204)


@routes.delete("/v2/orders")
async def cancel_all_orders(request: web.Request) -> web.Response:
    """Cancel every open order: 207 with each one's status (200, or 422 with why)."""
    principal = await authenticated(request)
    done = await commands.cancel_all_orders(request.app, principal)
    results = []
    for result in done["orders"]:
        if result["status"] == "canceled":
            results.append({"id": shapes.uuid_of(result["id"]), "status": 200,
                            "body": alpaca_order(request.app, result["order"])})
        else:  # filled or ended meanwhile
            results.append({"id": shapes.uuid_of(result["id"]), "status": 422,
                            "body": {"code": 42210000,
                                     "message": result["error"]["message"]}})
    return json(results, status=207)
