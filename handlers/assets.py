"""REST: assets (each symbol's class, exchange and order rules), the market clock and
the trading calendar (public, like the quotes)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from config.settings import TradingSettings
from feeds.calendars import ALIASES, FIRST_DAY, MarketHours
from handlers import keys
from handlers.commands import encode_cursor, page_of
from handlers.common import json_ok
from trading.assets import AssetClass, Exchange
from trading.errors import InvalidInput
from trading.hours import Schedule
from trading.market import Instrument
from trading.money import show

routes = web.RouteTableDef()

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
LAST_DAY = date(2099, 12, 31)
MAX_CALENDAR_DAYS = 366
DEFAULT_CALENDAR_DAYS = 30


def _time(moment: datetime | None, schedule: Schedule) -> str | None:
    """An ISO 8601 time in the exchange's own timezone (with its offset)."""
    return None if moment is None else moment.astimezone(schedule.zone).isoformat()


def exchange_param(raw: str | None) -> Exchange | None:
    """?exchange=: XNYS, XNSE, XBOM or CRYPTO, or a common name of one (NYSE, NSE...)."""
    if raw is None:
        return None
    found = ALIASES.get(raw.strip().upper()) if len(raw) <= 20 else None
    if found is None:
        raise InvalidInput(f"'exchange' must be one of {', '.join(Exchange)} (or NYSE, "
                           "NASDAQ, NSE, BSE).", field="exchange")
    return found


def date_param(request: web.Request, name: str, default: date) -> date:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"'{name}' must be a date as YYYY-MM-DD.", field=name) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(f"'{name}' must be from {FIRST_DAY} to {LAST_DAY}.", field=name)
    return day


def hours_view(schedule: Schedule, hours: MarketHours, now: datetime) -> dict[str, Any]:
    """An exchange's regular hours, and whether it is open now."""
    return {"exchange": schedule.exchange, "timezone": schedule.zone_name,
            "open": "00:00" if schedule.always_open else schedule.open_time.strftime("%H:%M"),
            "close": "24:00" if schedule.always_open else schedule.close_time.strftime("%H:%M"),
            "days": "mon-sun" if schedule.always_open else "mon-fri",
            "is_open": schedule.is_open(now), "enforced": hours.enforced}


def asset_view(instrument: Instrument, hours: MarketHours, trading: TradingSettings,
               now: datetime) -> dict[str, Any]:
    """An instrument as Alpaca's asset object, with its quote currency, margin, hours,
    fees and slippage."""
    rules, symbol = instrument.rules, instrument.symbol
    shortable = rules.shortable and trading.allow_shorts
    return {
        "id": symbol, "symbol": symbol, "name": symbol, "class": rules.asset_class.value,
        "exchange": rules.exchange.value, "status": "active", "tradable": True,
        "marginable": trading.long_margin_rate < 1, "shortable": shortable,
        "easy_to_borrow": shortable, "fractionable": rules.fractionable,
        "quote_currency": rules.quote_currency, "base_asset": rules.base_asset,
        "source": instrument.source, "min_order_size": show(rules.min_order_size),
        "min_trade_increment": show(rules.step), "price_increment": show(rules.price_increment),
        "min_notional": show(rules.min_notional),
        "margin_rate_long": show(trading.long_margin_rate),
        "margin_rate_short": show(trading.short_margin_rate),
        "hours": hours_view(hours.schedule(symbol), hours, now),
        **trading.schedule.of(rules.asset_class).view(),
    }


def clock_view(schedule: Schedule, now: datetime) -> dict[str, Any]:
    """Alpaca's clock (timestamp, is_open, next_open, next_close) of one exchange."""
    return {"exchange": schedule.exchange, "timezone": schedule.zone_name,
            "timestamp": _time(now, schedule), "is_open": schedule.is_open(now),
            "next_open": _time(schedule.next_open(now), schedule),
            "next_close": _time(schedule.next_close(now), schedule)}


@routes.get("/api/v1/assets")
async def list_assets(request: web.Request) -> web.Response:
    """Every configured symbol's asset, by symbol, a page at a time."""
    query = request.query
    wanted_class = query.get("asset_class")
    if wanted_class is not None and wanted_class not in list(AssetClass):
        raise InvalidInput(f"'asset_class' must be one of {', '.join(AssetClass)}.",
                           field="asset_class")
    exchange = exchange_param(query.get("exchange"))
    page = page_of("assets", query)
    market, now = request.app[keys.MARKET], request.app[keys.CLOCK]()
    instruments = [i for _, i in sorted(market.universe.instruments.items())
                   if (wanted_class is None or i.rules.asset_class == wanted_class)
                   and (exchange is None or i.rules.exchange == exchange)
                   and (page.after is None or i.symbol > page.after)]
    shown = instruments[:page.limit]
    more = len(instruments) > page.limit
    trading = request.app[keys.SETTINGS].trading
    return json_ok({"assets": [asset_view(i, market.hours, trading, now) for i in shown],
                    "next_cursor": encode_cursor("assets", shown[-1].symbol)
                    if more and shown else None})


@routes.get("/api/v1/assets/{symbol}")
async def get_asset(request: web.Request) -> web.Response:
    market = request.app[keys.MARKET]
    instrument = market.universe.instruments[market.universe.resolve(request.match_info["symbol"])]
    return json_ok({"asset": asset_view(instrument, market.hours,
                                        request.app[keys.SETTINGS].trading,
                                        request.app[keys.CLOCK]())})


@routes.get("/api/v1/clock")
async def clock(request: web.Request) -> web.Response:
    """Each exchange's clock (or ?exchange='s alone)."""
    exchange = exchange_param(request.query.get("exchange"))
    hours, now = request.app[keys.MARKET].hours, request.app[keys.CLOCK]()
    schedules = [hours.schedules[exchange]] if exchange else list(hours.schedules.values())
    return json_ok({"market_hours": hours.mode,
                    "clocks": [clock_view(schedule, now) for schedule in schedules]})


@routes.get("/api/v1/calendar")
async def calendar(request: web.Request) -> web.Response:
    """An exchange's sessions from start to end (at most MAX_CALENDAR_DAYS days)."""
    exchange = exchange_param(request.query.get("exchange")) or Exchange.XNYS
    schedule = request.app[keys.MARKET].hours.schedules[exchange]
    today = request.app[keys.CLOCK]().astimezone(schedule.zone).date()
    start = date_param(request, "start", min(max(today, FIRST_DAY), LAST_DAY))
    end = date_param(request, "end",
                     min(start + timedelta(days=DEFAULT_CALENDAR_DAYS - 1), LAST_DAY))
    if end < start:
        raise InvalidInput("'end' must not be before 'start'.", field="end")
    if (end - start).days >= MAX_CALENDAR_DAYS:
        raise InvalidInput(f"At most {MAX_CALENDAR_DAYS} days at a time.", field="end",
                           details={"limit": MAX_CALENDAR_DAYS})
    return json_ok({
        "exchange": schedule.exchange, "timezone": schedule.zone_name,
        "start": start.isoformat(), "end": end.isoformat(),
        "known_until": None if schedule.last is None else schedule.last.isoformat(),
        "sessions": [{"date": s.date.isoformat(), "open": _time(s.open, schedule),
                      "close": _time(s.close, schedule)}
                     for s in schedule.sessions(start, end)]})
