"""Alpaca's /v2/account, its configurations, activities and portfolio history, and
/v2/positions, over the services the native routes call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from handlers import keys
from handlers.alpaca import shapes
from handlers.alpaca.errors import NotSupported
from handlers.alpaca.orders import SYMBOL, alpaca_order, flag, json
from handlers.assets import date_param
from handlers.common import authenticated
from handlers.history import EPOCH, Direction, cursor_position
from handlers.validation import choice, decimal, moment, read_json, whole_number
from services.activities import list_activities
from services.portfolio import portfolio_history
from services.positions import close_all, close_position
from services.views import account_view, positions_view
from trading.activities import ActivityType, Position, Source, Window
from trading.errors import InvalidInput, NotFound, UnknownSymbol
from trading.money import show
from trading.portfolio import ChartPeriod, Timeframe, timeframe_for
from trading.trades import TradeStatus

routes = web.RouteTableDef()
MAX_ACTIVITIES, DEFAULT_ACTIVITIES = 100, 100


def _placed(app: web.Application, symbol: str) -> tuple[str | None, str | None]:
    """A symbol's PaperDesk asset class and exchange (None for one no longer configured)."""
    instrument = app[keys.MARKET].universe.instruments.get(symbol)
    if instrument is None:
        return app[keys.ENGINE].asset_class(symbol).value, None
    return instrument.rules.asset_class.value, instrument.rules.exchange.value


def alpaca_positions(app: web.Application, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    marginable = app[keys.SETTINGS].trading.long_margin_rate < 1  # as its asset says
    return [shapes.position(row, *_placed(app, row["symbol"]), marginable) for row in rows]


def _multiplier(app: web.Application) -> str:
    return show(1 / app[keys.SETTINGS].trading.long_margin_rate)


@routes.get("/v2/account")
async def get_account(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    engine = request.app[keys.ENGINE]
    account = await engine.account(principal.user_id)
    lots = await engine.store.trades.find(principal.user_id, status=TradeStatus.OPEN,
                                          limit=None)
    prices = engine.prices()
    positions = alpaca_positions(request.app, positions_view(lots, prices))
    return json(shapes.account(
        account_view(account, lots, prices), principal.user_id,
        account["created_at"].isoformat(), positions,
        request.app[keys.SETTINGS].trading.allow_shorts, _multiplier(request.app)))


def configuration(app: web.Application) -> dict[str, Any]:
    """The account configuration PaperDesk trades by (the same for every account)."""
    return shapes.account_configuration({
        "no_shorting": not app[keys.SETTINGS].trading.allow_shorts,
        "max_margin_multiplier": _multiplier(app)})


@routes.get("/v2/account/configurations")
async def get_configurations(request: web.Request) -> web.Response:
    await authenticated(request)
    return json(configuration(request.app))


@routes.patch("/v2/account/configurations")
async def patch_configurations(request: web.Request) -> web.Response:
    """Accept a configuration that is PaperDesk's (alpaca-py sends every field back);
    a change is refused, naming the field: these are the server's rules, not the user's."""
    await authenticated(request)
    body = await read_json(request)
    current = configuration(request.app)
    for name, value in body.items():
        if name not in current:
            raise InvalidInput(f"No account configuration {str(name)[:40]!r}.",
                               field=str(name)[:40])
        if value != current[name] and str(value) != str(current[name]):
            raise NotSupported(f"PaperDesk does not support changing {name}: it is "
                               f"{current[name]!r} on this server.", details={"field": name})
    return json(current)


# -- positions --

def _symbol(app: web.Application, text: str) -> str:
    """The symbol a path names: a symbol or an asset id (a UUID5 of one)."""
    universe = app[keys.MARKET].universe
    if len(text) == 36:
        for symbol in universe.instruments:
            if shapes.asset_id(symbol) == text.lower():
                return symbol
    try:
        return shapes.native_symbol(universe, text[:40])
    except UnknownSymbol:
        raise NotFound("position does not exist") from None


@routes.get("/v2/positions")
async def get_positions(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    engine = request.app[keys.ENGINE]
    lots = await engine.store.trades.find(principal.user_id, status=TradeStatus.OPEN,
                                          limit=None)
    return json(alpaca_positions(request.app, positions_view(lots, engine.prices())))


@routes.get(f"/v2/positions/{SYMBOL}")
async def get_position(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    engine, symbol = request.app[keys.ENGINE], _symbol(request.app, request.match_info["symbol"])
    lots = await engine.store.trades.find(principal.user_id, status=TradeStatus.OPEN,
                                          symbol=symbol, limit=None)
    rows = positions_view(lots, engine.prices())
    if not rows:
        raise NotFound("position does not exist")
    return json(alpaca_positions(request.app, rows)[0])


@routes.delete(f"/v2/positions/{SYMBOL}")
async def delete_position(request: web.Request) -> web.Response:
    """Close all of a position, or ?qty= or ?percentage= of it, at the market: the order."""
    principal = await authenticated(request)
    symbol = _symbol(request.app, request.match_info["symbol"])
    query = dict(request.query)
    done = await close_position(request.app[keys.ENGINE], principal.user_id, symbol,
                                quantity=decimal(query, "qty"),
                                percentage=decimal(query, "percentage"))
    return json(alpaca_order(request.app, done["order"]))


@routes.delete("/v2/positions")
async def delete_positions(request: web.Request) -> web.Response:
    """Close every position (?cancel_orders=true cancels open orders first): 207 with
    each symbol's order or why it failed."""
    principal = await authenticated(request)
    cancel = flag(request.query.get("cancel_orders"), "cancel_orders")
    done = await close_all(request.app[keys.ENGINE], principal.user_id, cancel_orders=cancel)
    results = []
    for row in done["closed"]:
        if row["status"] == "closed":
            order = alpaca_order(request.app, row["order"])
            results.append({"symbol": row["symbol"], "status": 200, "order_id": order["id"],
                            "body": order})
        else:
            results.append({"symbol": row["symbol"], "status": 422, "order_id": None,
                            "body": {"code": 42210000, "message": row["error"]["message"],
                                     "symbol": row["symbol"]}})
    return json(results, status=207)


# -- activities --

def _kinds(text: str) -> frozenset[ActivityType]:
    """Alpaca's activity types (FILL,FEE...) as PaperDesk's; an Alpaca type PaperDesk has
    no activities of (DIV...) selects none; anything else is 422."""
    if len(text) > 400:
        raise InvalidInput("'activity_types' is too long.", field="activity_types")
    kinds: set[ActivityType] = set()
    for word in filter(None, (part.strip().upper() for part in text.split(","))):
        if word in shapes.NATIVE_ACTIVITY_TYPES:
            kinds.update(ActivityType(kind) for kind in shapes.NATIVE_ACTIVITY_TYPES[word])
        elif word not in shapes.ALPACA_ACTIVITY_TYPES:
            raise InvalidInput(f"Unknown activity type {word[:20]!r}.", field="activity_types")
    return frozenset(kinds)


def _page_position(token: str, direction: Direction) -> Position:
    """Where the page after the activity id token starts (an id this route gave), checked
    as the native list checks its cursors."""
    stamp, sep, native = token.partition("::")
    kind, _, key = native.partition(":")
    sources = {"order": Source.ORDER_FILL, "exit": Source.EXIT_FILL,
               "ledger": Source.LEDGER, "transfer": Source.TRANSFER}
    try:
        if not sep or len(stamp) != 17 or not stamp.isdigit() or kind not in sources:
            raise ValueError(token)
        at = datetime.strptime(stamp + "000", "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput("'page_token' must be the id of an activity this list returned.",
                           field="page_token") from None
    millis = (at - EPOCH) // timedelta(milliseconds=1)
    try:
        return cursor_position(f"{direction.value}.{millis}.{sources[kind].value}.{key}",
                               direction)
    except InvalidInput:
        raise InvalidInput("'page_token' must be the id of an activity this list returned.",
                           field="page_token") from None


async def _activities(request: web.Request, types: str | None) -> web.Response:
    principal = await authenticated(request)
    query: dict[str, Any] = dict(request.query)
    kinds = frozenset(ActivityType) if types is None else _kinds(types)
    direction = choice(query, "direction", Direction, Direction.DESC)
    descending = direction == Direction.DESC
    limit = whole_number(query.get("page_size", DEFAULT_ACTIVITIES), "page_size", low=1,
                         high=MAX_ACTIVITIES)
    after = None if "after" not in query else moment(query["after"], "after")
    until = None if "until" not in query else moment(query["until"], "until")
    if "date" in query:
        day = moment(query["date"], "date")
        try:
            after, until = day - timedelta(microseconds=1), day + timedelta(days=1)
        except OverflowError:
            raise InvalidInput("'date' must be a day from 0001-01-02 to 9999-12-30.",
                               field="date") from None
    token = query.get("page_token")
    position = None if token is None else _page_position(token[:200], direction)
    if not kinds:
        return json([])
    engine = request.app[keys.ENGINE]
    account = await engine.account(principal.user_id)
    found = await list_activities(engine.store.activities, account, kinds,
                                  Window(after, until, position, descending), limit,
                                  engine.now())
    return json([shapes.activity(a.view, principal.user_id) for a in found[:limit]])


@routes.get("/v2/account/activities")
async def get_activities(request: web.Request) -> web.Response:
    return await _activities(request, request.query.get("activity_types"))


@routes.get("/v2/account/activities/{activity_type}")
async def get_activities_of_type(request: web.Request) -> web.Response:
    return await _activities(request, request.match_info["activity_type"])


# -- portfolio history --

@routes.get("/v2/account/portfolio/history")
async def get_portfolio_history(request: web.Request) -> web.Response:
    """period and timeframe as Alpaca's; date_end only today (PaperDesk's history ends
    now); extended_hours either way (PaperDesk values every hour its markets trade)."""
    principal = await authenticated(request)
    query: dict[str, Any] = dict(request.query)
    chart = choice(query, "period", ChartPeriod, ChartPeriod.MONTH)
    asked = None if "timeframe" not in query else choice(query, "timeframe", Timeframe)
    timeframe = timeframe_for(chart, asked)
    flag(query.get("extended_hours"), "extended_hours")
    engine = request.app[keys.ENGINE]
    today = engine.now().date()
    if "date_end" in query and date_param(request, "date_end", today) < today:
        raise NotSupported("PaperDesk's portfolio history ends now: date_end may only be "
                           "today.", details={"field": "date_end"})
    account = await engine.account(principal.user_id)
    history = await portfolio_history(engine, engine.store.snapshots, account, None, chart,
                                      timeframe)
    return json(shapes.portfolio_history(history))

