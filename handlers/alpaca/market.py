"""Alpaca's /v2/assets, /v2/clock, /v2/calendar and /v2/watchlists over PaperDesk's
universe, market hours and watchlist.

PaperDesk keeps one watchlist per user: Alpaca's list of watchlists holds it (or is
empty), its id is the account's id, creating a second one is refused (422) and
deleting it empties the list. Its name is kept.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from feeds.calendars import FIRST_DAY
from handlers import keys
from handlers.alpaca import shapes
from handlers.alpaca.errors import NotSupported
from handlers.alpaca.orders import SYMBOL, json
from handlers.assets import LAST_DAY, MAX_CALENDAR_DAYS, asset_view, clock_view, date_param
from handlers.common import authenticated
from handlers.validation import optional_string, read_json, string
from services.principal import Principal
from store.database import Document
from trading.assets import Exchange
from trading.errors import InvalidInput, NotFound, UnknownSymbol, UnknownSymbolInput
from trading.market import Instrument, validate_symbols

routes = web.RouteTableDef()
ASSET_CLASSES = ("us_equity", "us_option", "crypto", "crypto_perp")


def alpaca_asset(app: web.Application, instrument: Instrument) -> dict[str, Any]:
    return shapes.asset(asset_view(instrument, app[keys.MARKET].hours,
                                   app[keys.SETTINGS].trading, app[keys.CLOCK]()))


@routes.get("/v2/assets")
async def list_assets(request: web.Request) -> web.Response:
    """Every configured symbol's asset (?status=, ?asset_class=, ?exchange= filter)."""
    await authenticated(request)
    query = request.query
    status, wanted = query.get("status", "active"), query.get("asset_class")
    if status not in ("active", "inactive"):
        raise InvalidInput("'status' must be active or inactive.", field="status")
    if wanted is not None and wanted not in ASSET_CLASSES:
        raise InvalidInput(f"'asset_class' must be one of {', '.join(ASSET_CLASSES)}.",
                           field="asset_class")
    exchange = query.get("exchange")
    universe = request.app[keys.MARKET].universe
    assets = [alpaca_asset(request.app, instrument)
              for _, instrument in sorted(universe.instruments.items())]
    return json([a for a in assets if status == "active"
                 and (wanted is None or a["class"] == wanted)
                 and (exchange is None or a["exchange"] == exchange)])


def instrument_of(app: web.Application, text: str) -> Instrument:
    """The instrument a path names by symbol or asset id, or 404."""
    universe = app[keys.MARKET].universe
    if len(text) == 36:
        for symbol, instrument in universe.instruments.items():
            if shapes.asset_id(symbol) == text.lower():
                return instrument
    try:
        return universe.instruments[shapes.native_symbol(universe, text[:40])]
    except UnknownSymbol:
        raise NotFound(f"asset not found for {text[:40]}") from None


@routes.get(f"/v2/assets/{SYMBOL}")
async def get_asset(request: web.Request) -> web.Response:
    await authenticated(request)
    return json(alpaca_asset(request.app, instrument_of(request.app,
                                                        request.match_info["symbol"])))


@routes.get("/v2/clock")
async def clock(request: web.Request) -> web.Response:
    """The US equity market's clock, as Alpaca's."""
    await authenticated(request)
    schedule = request.app[keys.MARKET].hours.schedules[Exchange.XNYS]
    return json(shapes.clock(clock_view(schedule, request.app[keys.CLOCK]())))


@routes.get("/v2/calendar")
async def calendar(request: web.Request) -> web.Response:
    """The US equity market's sessions from start to end (at most a year at a time)."""
    await authenticated(request)
    schedule = request.app[keys.MARKET].hours.schedules[Exchange.XNYS]
    today = request.app[keys.CLOCK]().astimezone(schedule.zone).date()
    start = date_param(request, "start", min(max(today, FIRST_DAY), LAST_DAY))
    end = date_param(request, "end", min(start + timedelta(days=MAX_CALENDAR_DAYS - 1),
                                         LAST_DAY))
    if end < start:
        raise InvalidInput("'end' must not be before 'start'.", field="end")
    if (end - start).days >= MAX_CALENDAR_DAYS:
        raise InvalidInput(f"At most {MAX_CALENDAR_DAYS} days at a time.", field="end")
    return json([shapes.calendar_day(s.date, s.open.astimezone(schedule.zone),
                                     s.close.astimezone(schedule.zone))
                 for s in schedule.sessions(start, end)])


# -- the watchlist --

def _symbols(app: web.Application, raw: Any) -> list[str]:
    universe = app[keys.MARKET].universe
    limit = app[keys.SETTINGS].market.watchlist_limit
    if isinstance(raw, list):
        raw = [_spelled(universe, item) for item in raw[:limit + 1]]
    return validate_symbols(universe, raw, limit)


def _spelled(universe: Any, item: Any) -> Any:
    """An Alpaca spelling of a symbol (BTC/USD) as PaperDesk's, or item unchanged."""
    if isinstance(item, str) and len(item) <= 40:
        try:
            return shapes.native_symbol(universe, item)
        except UnknownSymbol:
            return item
    return item


def _name(body: dict[str, Any], required: bool) -> str | None:
    name = string(body, "name", max_chars=100) if required else optional_string(
        body, "name", max_chars=100)
    if name is not None and not name.strip():
        raise InvalidInput("'name' must not be blank.", field="name")
    return name


async def _view(app: web.Application, user_id: str, doc: Document) -> dict[str, Any]:
    universe = app[keys.MARKET].universe
    assets = [alpaca_asset(app, universe.instruments[s]) for s in doc.get("symbols", [])
              if s in universe]
    created, updated = doc.get("created_at"), doc.get("updated_at")
    return shapes.watchlist(user_id, doc.get("name"),
                            None if created is None else created.isoformat(),
                            None if updated is None else updated.isoformat(), assets)


async def _owned(request: web.Request, principal: Principal) -> Document:
    """The user's watchlist, named in the path by its id or by ?name= (by_name), or 404."""
    doc = await request.app[keys.STORE].watchlists.document(principal.user_id)
    if "watchlist_id" in request.match_info:
        named = request.match_info["watchlist_id"].lower() == shapes.uuid_of(principal.user_id)
    else:
        name = request.query.get("name")
        named = doc is not None and name is not None and name == (
            doc.get("name") or shapes.WATCHLIST_NAME)
    if doc is None or not named:
        raise NotFound("watchlist not found")
    return doc


@routes.get("/v2/watchlists")
async def list_watchlists(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    doc = await request.app[keys.STORE].watchlists.document(principal.user_id)
    return json([] if doc is None else [await _view(request.app, principal.user_id, doc)])


@routes.post("/v2/watchlists")
async def create_watchlist(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    body = await read_json(request)
    name = _name(body, required=True)
    symbols = _symbols(request.app, body.get("symbols") or [])
    store, now = request.app[keys.STORE].watchlists, request.app[keys.CLOCK]()
    if not await store.create(principal.user_id, name or "", symbols, now):
        raise NotSupported("PaperDesk keeps one watchlist per account, and this account has "
                           "it: change it with PUT /v2/watchlists/{id}.")
    doc = await store.document(principal.user_id)
    return json(await _view(request.app, principal.user_id, doc or {}))


async def _get(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    return json(await _view(request.app, principal.user_id, await _owned(request, principal)))


async def _update(request: web.Request) -> web.Response:
    """Rename it and/or replace its symbols."""
    principal = await authenticated(request)
    body = await read_json(request)
    await _owned(request, principal)
    name = _name(body, required=False)
    store, now = request.app[keys.STORE].watchlists, request.app[keys.CLOCK]()
    if "symbols" in body:
        await store.replace(principal.user_id, _symbols(request.app, body["symbols"]), now)
    if name is not None:
        await store.rename(principal.user_id, name, now)
    return json(await _view(request.app, principal.user_id,
                            await _owned(request, principal)))


async def _add(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    body = await read_json(request)
    await _owned(request, principal)
    [symbol] = _symbols(request.app, [string(body, "symbol", max_chars=40)])
    limit = request.app[keys.SETTINGS].market.watchlist_limit
    if not await request.app[keys.STORE].watchlists.add(principal.user_id, symbol, limit,
                                                         request.app[keys.CLOCK]()):
        raise InvalidInput(f"A watchlist holds at most {limit} symbols.", field="symbol")
    return json(await _view(request.app, principal.user_id,
                            await _owned(request, principal)))


async def _delete(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    await _owned(request, principal)
    await request.app[keys.STORE].watchlists.delete(principal.user_id)
    return web.Response(status=204)


@routes.delete("/v2/watchlists/{watchlist_id}/{symbol}")
async def remove_symbol(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    await _owned(request, principal)
    universe = request.app[keys.MARKET].universe
    try:
        symbol = shapes.native_symbol(universe, request.match_info["symbol"][:40])
    except UnknownSymbol:
        raise UnknownSymbolInput(f"Unknown symbol {request.match_info['symbol'][:40]!r}.",
                                 field="symbol") from None
    watchlists = request.app[keys.STORE].watchlists
    await watchlists.remove(principal.user_id, symbol, request.app[keys.CLOCK]())
    return json(await _view(request.app, principal.user_id,
                            await _owned(request, principal)))


for _path in ("/v2/watchlists/{watchlist_id}", "/v2/watchlists:by_name"):
    routes.get(_path)(_get)
    routes.put(_path)(_update)
    routes.post(_path)(_add)
    routes.delete(_path)(_delete)
