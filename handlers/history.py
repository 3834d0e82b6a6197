"""REST: account activities, portfolio history and performance."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from aiohttp import web

from handlers import keys
from handlers.commands import encode_cursor, page_of
from handlers.common import authenticated, json_ok
from handlers.validation import choice, moment, whole_number
from services.activities import list_activities
from services.performance import performance
from services.portfolio import portfolio_history
from trading.activities import Position, Source, Window, parse_types
from trading.errors import InvalidInput
from trading.portfolio import ChartPeriod, Timeframe, timeframe_for

routes = web.RouteTableDef()
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
MAX_PERIOD_ID = 2**31
_DIGITS = re.compile(r"[0-9]{1,15}", re.ASCII)


class Direction(StrEnum):
    DESC = "desc"
    ASC = "asc"


def _position_text(position: Position, direction: Direction) -> str:
    millis = (position.at - EPOCH) // timedelta(milliseconds=1)
    return f"{direction.value}.{millis}.{position.source.value}.{position.key}"


def cursor_position(text: str, direction: Direction) -> Position:
    """The position a cursor names, or 400 naming 'cursor' (a cursor of the other
    direction included)."""
    bad = InvalidInput("'cursor' must be a next_cursor this list returned, with the same "
                       "direction.", field="cursor")
    parts = text.split(".", 3)
    if len(parts) != 4 or parts[0] != direction.value or not parts[3] \
            or not _DIGITS.fullmatch(parts[1]) or not _DIGITS.fullmatch(parts[2]):
        raise bad  # only what _position_text writes: ASCII digits (int() takes more)
    try:
        millis, source = int(parts[1]), Source(int(parts[2]))
    except ValueError:
        raise bad from None
    if not 0 <= millis <= LATEST_MS:
        raise bad
    if source == Source.EXIT_FILL:
        trade_id, _, number = parts[3].rpartition(":")
        if not trade_id or not _DIGITS.fullmatch(number) or len(number) > 9:
            raise bad
    return Position(EPOCH + timedelta(milliseconds=millis), source, parts[3])


def _period_id(request: web.Request) -> int | None:
    raw = request.query.get("period_id")
    return None if raw is None else whole_number(raw, "period_id", low=0, high=MAX_PERIOD_ID)


@routes.get("/api/v1/account/activities")
async def get_activities(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    query = request.query
    kinds = parse_types(query.get("type"))
    direction = choice(dict(query), "direction", Direction, Direction.DESC)
    after = None if "after" not in query else moment(query["after"], "after")
    until = None if "until" not in query else moment(query["until"], "until")
    if after is not None and until is not None and after >= until:
        raise InvalidInput("'after' must be before 'until'.", field="after")
    page = page_of("activities", query)
    position = None if page.after is None else cursor_position(page.after, direction)
    engine = request.app[keys.ENGINE]
    account = await engine.account(principal.user_id)
    window = Window(after, until, position, direction == Direction.DESC)
    found = await list_activities(engine.store.activities, account, kinds, window, page.limit,
                                  engine.now())
    shown = found[:page.limit]
    next_cursor = (encode_cursor("activities", _position_text(shown[-1].position, direction))
                   if len(found) > page.limit and shown else None)
    return json_ok({"activities": [activity.view for activity in shown],
                    "next_cursor": next_cursor})


@routes.get("/api/v1/account/portfolio/history")
async def get_portfolio_history(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    query: dict[str, Any] = dict(request.query)
    chart = choice(query, "period", ChartPeriod, ChartPeriod.MONTH)
    asked = None if "timeframe" not in query else choice(query, "timeframe", Timeframe)
    timeframe = timeframe_for(chart, asked)
    period_id = _period_id(request)
    engine = request.app[keys.ENGINE]
    account = await engine.account(principal.user_id)
    return json_ok(await portfolio_history(engine, engine.store.snapshots, account, period_id,
                                            chart, timeframe))


async def _performance(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    period_id = _period_id(request)
    engine = request.app[keys.ENGINE]
    account = await engine.account(principal.user_id)
    return json_ok(await performance(engine, engine.store.snapshots, account, period_id))


# The report's first route, /api/v1/performance, gives the same answer.
routes.get("/api/v1/account/performance")(_performance)
routes.get("/api/v1/performance")(_performance)
