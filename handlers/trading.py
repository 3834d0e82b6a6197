"""REST: account, wallet, orders, trades, positions and missed events."""

from __future__ import annotations

from aiohttp import web

from handlers import commands, keys
from handlers.commands import page_of, paged
from handlers.common import authenticated, json_ok
from handlers.validation import choice, decimal, integer_param, read_json
from services.history import reset_with_history
from services.positions import close_all, close_position, position
from services.reports import positions, wallet, wallet_balance
from services.views import order_view, trade_view
from trading.errors import InvalidInput, NotFound, UnknownSymbol, UnknownSymbolInput
from trading.orders import OrderStatus

routes = web.RouteTableDef()


@routes.get("/api/v1/account")
async def get_account(request: web.Request) -> web.Response:
    return json_ok(await commands.get_account(request.app, await authenticated(request)))


@routes.post("/api/v1/account/reset")
async def post_reset(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    return json_ok({"account": await reset_with_history(
        request.app[keys.ENGINE], request.app[keys.HISTORY], principal.user_id)})


@routes.get("/api/v1/wallet")
async def get_wallet(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    return json_ok(await wallet(request.app[keys.ENGINE], principal.user_id))


@routes.get("/api/v1/wallet/{asset}")
async def get_wallet_asset(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    return json_ok({"balance": await wallet_balance(request.app[keys.ENGINE], principal.user_id,
                                                    request.match_info["asset"])})


@routes.post("/api/v1/orders")
async def place_order(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    result = await commands.place_order(request.app, principal, await read_json(request))
    return json_ok(result, status=201)


def symbol_filter(request: web.Request) -> str | None:
    """The ?symbol= filter: a configured symbol, or 400 unknown_symbol (it is input, not a
    resource)."""
    text = request.query.get("symbol")
    if text is None:
        return None
    try:
        return request.app[keys.MARKET].universe.resolve(text)
    except UnknownSymbol as error:
        raise UnknownSymbolInput(error.message, field="symbol") from None


@routes.get("/api/v1/orders")
async def list_orders(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    query = dict(request.query)
    status = choice(query, "status", OrderStatus) if "status" in query else None
    nested = query.get("nested", "false")
    if nested not in ("true", "false"):
        raise InvalidInput("'nested' must be true or false.", field="nested")
    symbol = symbol_filter(request)
    page = page_of("orders", query)
    store = request.app[keys.STORE]
    found = await store.orders.find(
        principal.user_id, status=status, symbol=symbol,
        after=page.after if page.after is not None else query.get("after"),
        limit=page.limit + 1, top_level=nested == "true")
    orders, next_cursor = paged("orders", page, found)
    if nested == "true":
        views = [await commands.nested_view(request.app, order) for order in orders]
    else:
        views = [order_view(order) for order in orders]
    return json_ok({"orders": views, "next_cursor": next_cursor})


@routes.get("/api/v1/orders/{order_id}")
async def get_order(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    order = await request.app[keys.STORE].orders.get(principal.user_id,
                                                    request.match_info["order_id"])
    if order is None:
        raise NotFound("No such order.")
    return json_ok({"order": await commands.nested_view(request.app, order)})


@routes.patch("/api/v1/orders/{order_id}")
async def replace_order(request: web.Request) -> web.Response:
    """Replace a resting order (Alpaca's model): a new order, the old one ends replaced."""
    principal = await authenticated(request)
    return json_ok(await commands.replace_order(request.app, principal,
                                                request.match_info["order_id"],
                                                await read_json(request)))


@routes.delete("/api/v1/orders")
async def cancel_all_orders(request: web.Request) -> web.Response:
    return json_ok(await commands.cancel_all_orders(request.app, await authenticated(request)))


@routes.delete("/api/v1/orders/{order_id}")
async def cancel_order(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    return json_ok(await commands.cancel_order(request.app, principal,
                                               request.match_info["order_id"]))


@routes.get("/api/v1/trades")
async def list_trades(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    status = request.query.get("status")
    if status not in (None, "open", "closed"):
        raise InvalidInput("'status' must be open or closed.", field="status")
    engine = request.app[keys.ENGINE]
    page = page_of("trades", request.query)
    found = await engine.store.trades.find(principal.user_id, status=status,
                                           symbol=symbol_filter(request), after=page.after,
                                           limit=page.limit + 1)
    trades, next_cursor = paged("trades", page, found)
    return json_ok({"trades": [trade_view(trade, engine.prices()) for trade in trades],
                    "next_cursor": next_cursor})


@routes.patch("/api/v1/trades/{trade_id}")
async def modify_trade(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    return json_ok(await commands.modify_trade(request.app, principal,
                                               request.match_info["trade_id"],
                                               await read_json(request)))


@routes.post("/api/v1/trades/exit-all")
async def exit_all(request: web.Request) -> web.Response:
    return json_ok(await commands.exit_all(request.app, await authenticated(request)))


@routes.post("/api/v1/trades/{trade_id}/exit")
async def exit_trade(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    body = await read_json(request) if request.can_read_body else None
    return json_ok(await commands.exit_trade(request.app, principal,
                                             request.match_info["trade_id"], body))


@routes.get("/api/v1/positions")
async def get_positions(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    return json_ok({"positions": await positions(request.app[keys.ENGINE],
                                                 principal.user_id)})


def _resolved(request: web.Request) -> str:
    try:
        return request.app[keys.MARKET].universe.resolve(request.match_info["symbol"])
    except UnknownSymbol as error:
        raise NotFound(error.message) from None


@routes.get("/api/v1/positions/{symbol}")
async def get_position(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    return json_ok({"position": await position(request.app[keys.ENGINE], principal.user_id,
                                               _resolved(request))})


@routes.delete("/api/v1/positions/{symbol}")
async def delete_position(request: web.Request) -> web.Response:
    """Close all or part of a position at the market (?qty= or ?percentage=)."""
    principal = await authenticated(request)
    query = dict(request.query)
    return json_ok(await close_position(request.app[keys.ENGINE], principal.user_id,
                                        _resolved(request), quantity=decimal(query, "qty"),
                                        percentage=decimal(query, "percentage")))


@routes.delete("/api/v1/positions")
async def delete_positions(request: web.Request) -> web.Response:
    """Close every position at the market (?cancel_orders=true cancels open orders first)."""
    principal = await authenticated(request)
    flag = request.query.get("cancel_orders", "false")
    if flag not in ("true", "false"):
        raise InvalidInput("'cancel_orders' must be true or false.", field="cancel_orders")
    return json_ok(await close_all(request.app[keys.ENGINE], principal.user_id,
                                   cancel_orders=flag == "true"))


@routes.get("/api/v1/events")
async def missed_events(request: web.Request) -> web.Response:
    """Events after a sequence number, oldest first: what a reconnecting client missed."""
    principal = await authenticated(request)
    after = integer_param(request, "after", default=0, low=0, high=2**62)
    limit = integer_param(request, "limit", default=100, low=1, high=1000)
    events = await request.app[keys.STORE].events.after(principal.user_id, after, limit)
    return json_ok({"events": [{"seq": e["seq"], "type": e["type"], **e["data"]}
                               for e in events]})
